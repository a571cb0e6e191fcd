"""The run dashboard's data: compact, columnar, and computed once on the server.

A 10,000-program run must draw in well under two seconds, so the page ships columns of
numbers (not a list of objects) and the browser only scales and draws them. The same
document is what a live page polls to redraw itself in place.
"""

from __future__ import annotations

import time
from typing import Any

from evolve.statuses import Status, is_candidate
from evolve.web.views import RunRow, RunSummary

# Candidates over which the live rate (and so the time left) is measured.
RATE_WINDOW = 50


def failure_causes(summary: RunSummary) -> list[dict[str, Any]]:
    """Failed attempts per status, largest first, as a share of all attempts."""
    total = sum(summary.counts.values())
    causes = [
        {"cause": status, "count": count, "fraction": count / total if total else 0.0}
        for status, count in summary.counts.items()
        if status != Status.OK and count
    ]
    return sorted(causes, key=lambda c: (-c["count"], c["cause"]))


def resume_command(run: RunRow) -> str:
    return f"evolve resume {run.name}"


def progress(summary: RunSummary, now: float | None = None) -> dict[str, Any]:
    """Done, failed, the rate over the latest candidates, time left, last activity."""
    now = time.time() if now is None else now
    run = summary.run
    done = [a.created_at for a in summary.attempts if is_candidate(a.origin)]
    window = done[-RATE_WINDOW:]
    span = window[-1] - window[0] if len(window) > 1 else 0.0
    rate = (len(window) - 1) / span * 60 if span > 0 else None
    left = max(0, run.target - run.candidates) if run.target is not None else None
    return {
        "state": run.state,
        "live": run.running,
        "done": run.candidates,
        "failed": sum(c["count"] for c in failure_causes(summary)),
        "target": run.target,
        "in_flight_max": summary.config.get("max_in_flight") if run.running else 0,
        "rate_per_min": rate,
        "eta_s": left / rate * 60 if rate and left is not None and run.running else None,
        "last_activity": run.last_activity,
        "idle_s": max(0.0, now - run.last_activity),
        "resume": resume_command(run) if run.state == "stalled" else None,
    }


def chart_data(summary: RunSummary) -> dict[str, Any]:
    """Everything the dashboard's script draws, in one JSON-ready document."""
    attempts = summary.attempts
    statuses = sorted({a.status for a in attempts})
    status_code = {s: i for i, s in enumerate(statuses)}
    start = summary.run.started_at or (attempts[0].created_at if attempts else 0.0)
    top = summary.top[0] if summary.top else None
    return {
        "run": summary.run.id,
        "running": summary.running,
        "progress": progress(summary),
        "statuses": statuses,
        "ok": [status_code[s] for s in statuses if s == Status.OK],
        "islands": sorted({i.island for i in summary.islands} | {a.island for a in attempts}),
        "attempts": {
            "id": [a.id for a in attempts],
            "t": [round(max(0.0, a.created_at - start), 3) for a in attempts],
            "island": [a.island for a in attempts],
            "status": [status_code[a.status] for a in attempts],
            "score": [a.score for a in attempts],
        },
        "seed_score": summary.seed_score,
        "best": {"id": top.id, "score": top.score} if top else None,
        "failures": failure_causes(summary),
        "models": [
            {"model": m.model, "calls": m.calls, "dollars": m.dollars, "errors": m.errors} for m in summary.models
        ],
        "features": summary.features,
        "grids": summary.grids,
        "grid_error": summary.grid_error,
    }

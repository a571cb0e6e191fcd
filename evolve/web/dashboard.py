"""The run dashboard's chart data: compact, columnar, and computed once on the server.

A 10,000-program run must draw in well under two seconds, so the page ships columns of
numbers (not a list of objects) and the browser only scales and draws them.
"""

from __future__ import annotations

from typing import Any

from evolve.web.views import RunSummary

# Statuses that count as a successful evaluation; everything else is a failure cause.
OK_STATUSES = frozenset({"ok"})


def failure_causes(summary: RunSummary) -> list[dict[str, Any]]:
    """Failed attempts per cause, largest first, as a share of all attempts."""
    total = sum(summary.counts.values())
    causes = [
        {"cause": status, "count": count, "fraction": count / total if total else 0.0}
        for status, count in summary.counts.items()
        if status not in OK_STATUSES and count
    ]
    return sorted(causes, key=lambda c: (-c["count"], c["cause"]))


def grid_shape(summary: RunSummary, cells: list[tuple[int, ...]]) -> list[int]:
    """Bins per axis: the configured ones, widened if a stored cell lies beyond them."""
    dims = max((len(c) for c in cells), default=len(summary.features))
    shape = [int(f.get("bins", 1)) for f in summary.features[:dims]]
    shape += [1] * (dims - len(shape))
    for cell in cells:
        for axis, index in enumerate(cell):
            shape[axis] = max(shape[axis], index + 1)
    return shape


def island_grids(summary: RunSummary) -> list[dict[str, Any]]:
    """Per island, the best score in each MAP-Elites cell (the cell's elite).

    Grids of more than two axes are shown on their first two: each drawn cell holds the
    best over the hidden axes.
    """
    placed = [a for a in summary.attempts if a.feature_cell and a.score is not None and a.status in OK_STATUSES]
    shape = grid_shape(summary, [tuple(a.feature_cell or ()) for a in placed])
    shape2 = (shape + [1, 1])[:2]
    axes = [f.get("name", f"axis {i}") for i, f in enumerate(summary.features[:2])]
    grids: list[dict[str, Any]] = []
    for island in sorted({i.island for i in summary.islands} | {a.island for a in placed}):
        elites: dict[tuple[int, int], tuple[float, int]] = {}
        for a in placed:
            if a.island != island:
                continue
            cell = tuple(a.feature_cell or ())
            key = (cell[0] if cell else 0, cell[1] if len(cell) > 1 else 0)
            if key not in elites or a.score > elites[key][0]:
                elites[key] = (a.score, a.id)
        grids.append(
            {
                "island": island,
                "shape": shape2,
                "axes": axes,
                "cells": [[x, y, score, pid] for (x, y), (score, pid) in sorted(elites.items())],
            }
        )
    return grids


def chart_data(summary: RunSummary) -> dict[str, Any]:
    """Everything the dashboard's script draws, in one JSON-ready document."""
    attempts = summary.attempts
    statuses = sorted({a.status for a in attempts})
    status_code = {s: i for i, s in enumerate(statuses)}
    start = summary.run.started_at or (attempts[0].created_at if attempts else 0.0)
    return {
        "run": summary.run.id,
        "running": summary.running,
        "statuses": statuses,
        "ok": [status_code[s] for s in statuses if s in OK_STATUSES],
        "islands": sorted({i.island for i in summary.islands} | {a.island for a in attempts}),
        "attempts": {
            "id": [a.id for a in attempts],
            "t": [round(max(0.0, a.created_at - start), 3) for a in attempts],
            "island": [a.island for a in attempts],
            "status": [status_code[a.status] for a in attempts],
            "score": [a.score for a in attempts],
        },
        "failures": failure_causes(summary),
        "models": [
            {"model": m.model, "calls": m.calls, "dollars": m.dollars, "errors": m.errors} for m in summary.models
        ],
        "grids": island_grids(summary),
    }

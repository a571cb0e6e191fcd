"""Reads the browsing views from the program database (SQLite or PostgreSQL).

One place maps ``database.queries`` onto ``evolve.web.views`` so the CLI and the web UI
cannot drift apart.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from evolve.database import ArchiveError, ProgramDatabase, queries
from evolve.database.lease import STALE_AFTER_S, holder_of
from evolve.evaluators.result import StageRecord
from evolve.statuses import Origin, Status
from evolve.web.views import (
    Attempt,
    IslandBest,
    LineageStep,
    LLMCall,
    ModelUsage,
    ProgramDetail,
    ProgramRow,
    RunRow,
    RunSummary,
)

TOP_PROGRAMS = 10
# A running run's driver holds a lease with a heartbeat; a stale lease (or a dead process
# on this host) means the driver was killed. A run without a lease (written before leases
# existed) counts as stalled after this long without a row written.
STALL_AFTER_S = 600.0


def _row(d: dict[str, Any]) -> ProgramRow:
    return ProgramRow(
        id=d["id"], parent_id=d["parent_id"], island=d["island"], generation=d["generation"],
        origin=d["origin"], status=d["status"], score=d["score"], model=d["model"],
        created_at=d["created_at"], error=d.get("error"), test_score=d.get("test_score"),
    )


def _cell(value: Any) -> tuple[int, ...] | None:
    return tuple(value) if value else None


class RunReader:
    """Read-only access to runs and programs; never writes."""

    def __init__(self, db: ProgramDatabase, stall_after_s: float = STALL_AFTER_S) -> None:
        self.db = db
        self.stall_after_s = stall_after_s

    def runs(self) -> list[RunRow]:
        now = time.time()
        return [
            RunRow(
                id=r["id"], name=r["name"], problem=r["problem"], status=r["status"],
                candidates=r["candidates"], best_train=r["best_score"], best_test=r["best_test_score"],
                dollars=r["cost_usd"], started_at=r["created_at"], best_id=r["best_id"],
                max_test=r["max_test_score"], last_activity=r["last_activity"], target=r["target"],
                stalled=self._stalled(r, now),
            )
            for r in queries.list_runs(self.db)
        ]

    def _stalled(self, run: dict[str, Any], now: float) -> bool:
        """Marked running, but its driver is gone: shown with the command that resumes it."""
        if run["status"] != "running":
            return False
        holder = holder_of(self.db.engine, run["id"])
        if holder is not None:
            return holder.is_stale(now, STALE_AFTER_S)
        return now - run["last_activity"] > self.stall_after_s

    def run(self, ref: str) -> RunRow:
        """``ref`` is an id, a name or ``latest``; raises ``RunNotFound``."""
        info = self.db.open_run(ref)
        return next(r for r in self.runs() if r.id == info.id)

    def summary(self, run_id: int) -> RunSummary:
        s = queries.run_summary(self.db, run_id)
        rows = queries.run_attempts(self.db, run_id)
        by_id = {p["id"]: p for p in rows}
        try:
            snapshot, grid_error = queries.archive_snapshot(self.db, run_id), None
        except ArchiveError as exc:
            snapshot, grid_error = {"features": [], "islands": []}, str(exc)
        seed = next((p for p in rows if p["origin"] == Origin.SEED), None)
        return RunSummary(
            run=self.run(str(run_id)),
            config=s["run"]["config"],
            counts={k: v for k, v in s["counts"].items() if k not in ("total", "failed")},
            islands=self._islands(s["islands"], snapshot, by_id),
            models=[
                ModelUsage(m["model"], m["calls"], m["tokens_in"], m["tokens_out"], m["cost_usd"], m["errors"])
                for m in s["models"]
            ],
            top=[_row(p) for p in queries.top_programs(self.db, run_id, TOP_PROGRAMS)],
            attempts=[
                Attempt(id=p["id"], island=p["island"], status=p["status"], score=p["score"],
                        created_at=p["created_at"], origin=p["origin"])
                for p in rows if p["origin"] != Origin.MIGRANT
            ],
            features=snapshot["features"],
            grids=snapshot["islands"],
            grid_error=grid_error,
            failure_causes=s["failure_causes"],
            seed_score=seed["score"] if seed and seed["status"] == Status.OK else None,
        )

    @staticmethod
    def _islands(counts: list[dict[str, Any]], snapshot: dict[str, Any], by_id: dict[int, Any]) -> list[IslandBest]:
        """Counts from the rows, bests from the archive's own grids (one rule for both)."""
        held = {i["island"]: i for i in snapshot["islands"]}
        numbers = {c["island"]: c for c in counts}
        islands = []
        for index in sorted(set(held) | set(numbers)):
            best = (held.get(index) or {}).get("best")
            row = by_id.get(best["id"]) if best else None
            islands.append(IslandBest(
                island=index, candidates=numbers.get(index, {}).get("candidates", 0),
                best_id=best["id"] if best else None, best_score=best["score"] if best else None,
                failed=numbers.get(index, {}).get("failed", 0), elites=len((held.get(index) or {}).get("cells", [])),
                best_migrant_of=row["parent_id"] if row and row["origin"] == Origin.MIGRANT else None,
            ))
        return islands

    def program(self, program_id: int) -> ProgramDetail:
        d = queries.program_detail(self.db, program_id)
        children = [_row(c) for c in queries.descendants(self.db, program_id, max_depth=1)]
        seed = next((p for p in queries.run_attempts(self.db, d["run_id"], origin=Origin.SEED)), None)
        return ProgramDetail(
            row=_row(d), run_id=d["run_id"], code=d["code"], diff=d["diff"] or "",
            metrics=d["metrics"] or {}, artifacts={k: str(v) for k, v in (d["artifacts"] or {}).items()},
            test_metrics=d["test_metrics"],
            stages=[StageRecord(st["stage"], st["status"], st["wall_s"], st["cpu_s"], st["error"]) for st in d["stages"]],
            timings=d["timings"] or {}, feature_cell=_cell(d["feature_cell"]),
            llm_calls=[
                LLMCall(c["model"], c["kind"], c["prompt"], c["response"], c["tokens_in"], c["tokens_out"],
                        c["cost_usd"], c["latency_s"], c["error"])
                for c in d["llm_calls"]
            ],
            children=children,
            duplicate_of=d["duplicate_of"],
            seed_id=seed["id"] if seed else None,
            instances=d.get("instances") or {},
        )

    def lineage(self, program_id: int) -> list[LineageStep]:
        """Seed first, ``program_id`` last."""
        return [LineageStep(_row(s), s["score_delta"], s["diff"] or "") for s in queries.ancestors(self.db, program_id)]

    def export(self, run_id: int) -> Iterator[dict[str, Any]]:
        return queries.export_programs(self.db, run_id)

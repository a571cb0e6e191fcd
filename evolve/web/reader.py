"""Reads the browsing views from the program database (SQLite or PostgreSQL).

One place maps ``database.queries`` onto ``evolve.web.views`` so the CLI and the web UI
cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Iterator

from database import ProgramDatabase, queries
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


def _row(d: dict[str, Any]) -> ProgramRow:
    return ProgramRow(
        id=d["id"], parent_id=d["parent_id"], island=d["island"], generation=d["generation"],
        origin=d["origin"], status=d["status"], score=d["score"], model=d["model"],
        created_at=d["created_at"], error=d.get("error"),
    )


def _cell(value: Any) -> tuple[int, ...] | None:
    return tuple(value) if value else None


class RunReader:
    """Read-only access to runs and programs; never writes."""

    def __init__(self, db: ProgramDatabase) -> None:
        self.db = db

    def runs(self) -> list[RunRow]:
        return [
            RunRow(
                id=r["id"], name=r["name"], problem=r["problem"], status=r["status"],
                candidates=r["candidates"], best_train=r["best_score"], best_test=r["best_test_score"],
                dollars=r["cost_usd"], started_at=r["created_at"],
            )
            for r in queries.list_runs(self.db)
        ]

    def run(self, ref: str) -> RunRow:
        """``ref`` is an id, a name or ``latest``; raises ``RunNotFound``."""
        info = self.db.open_run(ref)
        return next(r for r in self.runs() if r.id == info.id)

    def summary(self, run_id: int) -> RunSummary:
        s = queries.run_summary(self.db, run_id)
        run = self.run(str(run_id))
        attempts = [
            Attempt(
                id=p["id"], island=p["island"], status=p["status"], score=p["score"],
                created_at=p["created_at"], feature_cell=_cell(p["feature_cell"]),
            )
            for p in queries.run_attempts(self.db, run_id)
            if p["origin"] != "migrant"
        ]
        best_ids: dict[int, tuple[float, int]] = {}
        for a in attempts:
            if a.status == "ok" and a.score is not None and (a.island not in best_ids or a.score > best_ids[a.island][0]):
                best_ids[a.island] = (a.score, a.id)
        counts = {k: v for k, v in s["counts"].items() if k not in ("total", "failed")}
        features = s["run"]["config"].get("archive", {}).get("features") or [
            {"name": "complexity", "bins": 10}, {"name": "edit_distance", "bins": 10}
        ]
        return RunSummary(
            run=run,
            config=s["run"]["config"],
            counts=counts,
            islands=[
                IslandBest(i["island"], i["programs"], best_ids.get(i["island"], (None, None))[1], i["best_score"])
                for i in s["islands"]
            ],
            models=[
                ModelUsage(m["model"], m["calls"], m["tokens_in"], m["tokens_out"], m["cost_usd"], m["errors"])
                for m in s["models"]
            ],
            top=[_row(p) for p in queries.top_programs(self.db, run_id, TOP_PROGRAMS)],
            attempts=attempts,
            features=features,
        )

    def program(self, program_id: int) -> ProgramDetail:
        d = queries.program_detail(self.db, program_id)
        children = [c["id"] for c in queries.descendants(self.db, program_id, max_depth=1)]
        return ProgramDetail(
            row=_row(d), run_id=d["run_id"], code=d["code"], diff=d["diff"] or "",
            metrics=d["metrics"] or {}, artifacts={k: str(v) for k, v in (d["artifacts"] or {}).items()},
            test_metrics=d["test_metrics"],
            stages=[{"name": st["stage"], "status": st["status"], "wall_s": st["wall_s"], "error": st["error"]}
                    for st in d["stages"]],
            timings=d["timings"] or {}, feature_cell=_cell(d["feature_cell"]),
            llm_calls=[
                LLMCall(c["model"], c["kind"], c["prompt"], c["response"], c["tokens_in"], c["tokens_out"],
                        c["cost_usd"], c["latency_s"], c["error"])
                for c in d["llm_calls"]
            ],
            children=children,
        )

    def lineage(self, program_id: int) -> list[LineageStep]:
        """Seed first, ``program_id`` last."""
        return [LineageStep(_row(s), s["score_delta"], s["diff"] or "") for s in queries.ancestors(self.db, program_id)]

    def export(self, run_id: int) -> Iterator[dict[str, Any]]:
        return queries.export_programs(self.db, run_id)

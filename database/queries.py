"""Read-only queries for the browsing CLI and the web UI; they return plain dicts.

They read what the driver wrote and never need the driver's in-memory archive, so a
browser can look at a running or a finished run alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Union

from sqlalchemy import Engine, and_, case, func, select

from database.errors import ProgramNotFound, RunNotFound
from database.models import EvaluationStage, LLMCall, Program, Run
from database.records import RunInfo

if TYPE_CHECKING:
    from database.store import ProgramDatabase

Source = Union["ProgramDatabase", Engine]

RUNS = Run.__table__
PROGRAMS = Program.__table__
CALLS = LLMCall.__table__
STAGES = EvaluationStage.__table__
CANDIDATE = PROGRAMS.c.origin.notin_(("seed", "migrant"))
SUMMARY_COLUMNS = ("id", "parent_id", "island", "generation", "origin", "model", "status", "score",
                   "test_score", "error", "feature_cell", "created_at")


def _engine(db: Source) -> Engine:
    return db if isinstance(db, Engine) else db.engine


def _program_summary(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in SUMMARY_COLUMNS}


def list_runs(db: Source) -> list[dict[str, Any]]:
    """Every run, newest first, with its candidates, failures, best scores and dollars."""
    stats = (
        select(
            PROGRAMS.c.run_id,
            func.sum(case((CANDIDATE, 1), else_=0)).label("candidates"),
            func.sum(case((and_(CANDIDATE, PROGRAMS.c.status != "ok"), 1), else_=0)).label("failed"),
            func.max(case((PROGRAMS.c.status == "ok", PROGRAMS.c.score))).label("best_score"),
            func.max(PROGRAMS.c.test_score).label("best_test_score"),
        )
        .group_by(PROGRAMS.c.run_id)
        .subquery()
    )
    cost = select(CALLS.c.run_id, func.sum(CALLS.c.cost_usd).label("cost_usd")).group_by(CALLS.c.run_id).subquery()
    query = (
        select(RUNS, stats.c.candidates, stats.c.failed, stats.c.best_score, stats.c.best_test_score, cost.c.cost_usd)
        .outerjoin(stats, stats.c.run_id == RUNS.c.id)
        .outerjoin(cost, cost.c.run_id == RUNS.c.id)
        .order_by(RUNS.c.id.desc())
    )
    with _engine(db).connect() as conn:
        return [
            {
                "id": row.id, "name": row.name, "problem": row.problem, "status": row.status,
                "candidates": int(row.candidates or 0), "failed": int(row.failed or 0),
                "best_score": row.best_score, "best_test_score": row.best_test_score,
                "cost_usd": float(row.cost_usd or 0.0), "created_at": row.created_at,
                "updated_at": row.updated_at,
            }
            for row in conn.execute(query)
        ]


def run_summary(db: Source, run: RunInfo | int) -> dict[str, Any]:
    """Per-island bests, counts by status, score over time and per-model spending."""
    if isinstance(run, int):
        run = _run(db, run)
    run_rows = PROGRAMS.c.run_id == run.id
    with _engine(db).connect() as conn:
        by_status = dict(
            conn.execute(
                select(PROGRAMS.c.status, func.count()).where(run_rows, CANDIDATE).group_by(PROGRAMS.c.status)
            ).all()
        )
        causes = [
            {"status": status, "error": error, "count": count}
            for status, error, count in conn.execute(
                select(PROGRAMS.c.status, func.substr(PROGRAMS.c.error, 1, 120).label("cause"), func.count())
                .where(run_rows, CANDIDATE, PROGRAMS.c.status != "ok")
                .group_by(PROGRAMS.c.status, "cause")
                .order_by(func.count().desc())
                .limit(20)
            )
        ]
        islands = [
            {"island": island, "programs": programs, "best_score": best}
            for island, programs, best in conn.execute(
                select(
                    PROGRAMS.c.island, func.count(),
                    func.max(case((PROGRAMS.c.status == "ok", PROGRAMS.c.score))),
                )
                .where(run_rows)
                .group_by(PROGRAMS.c.island)
                .order_by(PROGRAMS.c.island)
            )
        ]
        timeline = []
        best_so_far = None
        rows = conn.execute(
            select(PROGRAMS.c.id, PROGRAMS.c.created_at, PROGRAMS.c.score, PROGRAMS.c.status)
            .where(run_rows, PROGRAMS.c.origin != "migrant")
            .order_by(PROGRAMS.c.id)
        )
        for index, row in enumerate(rows):
            score = row.score if row.status == "ok" else None
            if score is not None and (best_so_far is None or score > best_so_far):
                best_so_far = score
            timeline.append(
                {"index": index, "id": row.id, "created_at": row.created_at, "score": score, "best_so_far": best_so_far}
            )
        models = [
            {
                "model": row.model, "calls": row.calls, "errors": int(row.errors or 0),
                "tokens_in": int(row.tokens_in or 0), "tokens_out": int(row.tokens_out or 0),
                "cost_usd": float(row.cost_usd or 0.0), "latency_s": float(row.latency_s or 0.0),
            }
            for row in conn.execute(
                select(
                    CALLS.c.model,
                    func.count().label("calls"),
                    func.sum(case((CALLS.c.error.is_not(None), 1), else_=0)).label("errors"),
                    func.sum(CALLS.c.tokens_in).label("tokens_in"),
                    func.sum(CALLS.c.tokens_out).label("tokens_out"),
                    func.sum(CALLS.c.cost_usd).label("cost_usd"),
                    func.avg(CALLS.c.latency_s).label("latency_s"),
                )
                .where(CALLS.c.run_id == run.id)
                .group_by(CALLS.c.model)
                .order_by(CALLS.c.model)
            )
        ]
    total = sum(by_status.values())
    return {
        "run": {"id": run.id, "name": run.name, "problem": run.problem, "status": run.status,
                "seed": run.seed, "config": run.config, "created_at": run.created_at,
                "updated_at": run.updated_at},
        "counts": {**by_status, "total": total, "failed": total - by_status.get("ok", 0)},
        "failure_causes": causes,
        "islands": islands,
        "score_over_time": timeline,
        "models": models,
        "cost_usd": sum(m["cost_usd"] for m in models),
    }


def _run(db: Source, run_id: int) -> RunInfo:
    with _engine(db).connect() as conn:
        row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
    if row is None:
        raise RunNotFound(f"no run with id {run_id}")
    return RunInfo(**{column: getattr(row, column) for column in RUNS.c.keys()})


def top_programs(db: Source, run_id: int, limit: int = 10, by: str = "score") -> list[dict[str, Any]]:
    """The best distinct programs (migrant copies left out) by train ``score`` or ``test_score``."""
    column = PROGRAMS.c.test_score if by == "test_score" else PROGRAMS.c.score
    query = (
        select(*[PROGRAMS.c[n] for n in SUMMARY_COLUMNS])
        .where(PROGRAMS.c.run_id == run_id, PROGRAMS.c.status == "ok", PROGRAMS.c.origin != "migrant",
               column.is_not(None))
        .order_by(column.desc(), PROGRAMS.c.id)
        .limit(limit)
    )
    with _engine(db).connect() as conn:
        return [_program_summary(row) for row in conn.execute(query)]


def program_detail(db: Source, program_id: int) -> dict[str, Any]:
    """One program with everything stored about it, its evaluation stages and LLM calls."""
    with _engine(db).connect() as conn:
        row = conn.execute(select(PROGRAMS).where(PROGRAMS.c.id == program_id)).first()
        if row is None:
            raise ProgramNotFound(f"no program with id {program_id}")
        stages = [dict(r._mapping) for r in conn.execute(
            select(STAGES).where(STAGES.c.program_id == program_id).order_by(STAGES.c.position)
        )]
        calls = [dict(r._mapping) for r in conn.execute(
            select(CALLS).where(CALLS.c.program_id == program_id).order_by(CALLS.c.id)
        )]
    return {**dict(row._mapping), "stages": stages, "llm_calls": calls}


def ancestors(db: Source, program_id: int) -> list[dict[str, Any]]:
    """The path from the seed to ``program_id``, oldest first, with each step's score
    change (from its parent) and diff; migrant steps show where a line changed island."""
    chain = select(PROGRAMS.c.id, PROGRAMS.c.parent_id).where(PROGRAMS.c.id == program_id).cte(recursive=True)
    chain = chain.union_all(select(PROGRAMS.c.id, PROGRAMS.c.parent_id).where(PROGRAMS.c.id == chain.c.parent_id))
    columns = [PROGRAMS.c[n] for n in SUMMARY_COLUMNS] + [PROGRAMS.c.diff]
    with _engine(db).connect() as conn:
        rows = conn.execute(select(*columns).join(chain, chain.c.id == PROGRAMS.c.id).order_by(PROGRAMS.c.id)).all()
    if not rows:
        raise ProgramNotFound(f"no program with id {program_id}")
    path = []
    previous = None
    for row in rows:
        step = {**_program_summary(row), "diff": row.diff}
        has_both = previous is not None and previous["score"] is not None and row.score is not None
        step["score_delta"] = row.score - previous["score"] if has_both else None
        path.append(step)
        previous = step
    return path


def descendants(db: Source, program_id: int, max_depth: int = 1000) -> list[dict[str, Any]]:
    """Every program descended from ``program_id`` (itself excluded), with its depth."""
    tree = (
        select(PROGRAMS.c.id, PROGRAMS.c.parent_id, func.cast(1, PROGRAMS.c.generation.type).label("depth"))
        .where(PROGRAMS.c.parent_id == program_id)
        .cte(recursive=True)
    )
    tree = tree.union_all(
        select(PROGRAMS.c.id, PROGRAMS.c.parent_id, tree.c.depth + 1)
        .where(PROGRAMS.c.parent_id == tree.c.id, tree.c.depth < max_depth)
    )
    columns = [PROGRAMS.c[n] for n in SUMMARY_COLUMNS]
    with _engine(db).connect() as conn:
        if conn.execute(select(PROGRAMS.c.id).where(PROGRAMS.c.id == program_id)).first() is None:
            raise ProgramNotFound(f"no program with id {program_id}")
        rows = conn.execute(
            select(*columns, tree.c.depth).join(tree, tree.c.id == PROGRAMS.c.id).order_by(PROGRAMS.c.id)
        )
        return [{**_program_summary(row), "depth": row.depth} for row in rows]


ATTEMPT_COLUMNS = ("id", "island", "origin", "status", "score", "created_at", "feature_cell")


def run_attempts(db: Source, run_id: int) -> list[dict[str, Any]]:
    """Every attempt's place and outcome, without code or artifacts: what charts need."""
    with _engine(db).connect() as conn:
        rows = conn.execute(
            select(*[PROGRAMS.c[n] for n in ATTEMPT_COLUMNS]).where(PROGRAMS.c.run_id == run_id).order_by(PROGRAMS.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]


def export_programs(db: Source, run_id: int, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every attempt of the run (code included), oldest first, streamed in batches."""
    last = 0
    while True:
        with _engine(db).connect() as conn:
            rows = conn.execute(
                select(PROGRAMS).where(PROGRAMS.c.run_id == run_id, PROGRAMS.c.id > last)
                .order_by(PROGRAMS.c.id).limit(batch)
            ).all()
        if not rows:
            return
        for row in rows:
            yield dict(row._mapping)
        last = rows[-1].id

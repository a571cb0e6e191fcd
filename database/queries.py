"""Read-only queries for the browsing CLI and the web UI; they return plain dicts.

They read what the driver wrote and never need the driver's in-memory archive, so a
browser can look at a running or a finished run alike. Two rules are stated here once for
every browser: which rows are candidates (``CANDIDATE``, the archive's own definition)
and which program is a run's best (``BEST_FIRST``, the archive's tie-break).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Union

from sqlalchemy import Engine, and_, case, func, select

from evolve.database.archive import RunArchive
from evolve.database.errors import ProgramNotFound, RunNotFound
from evolve.database.models import ArchiveState, EvaluationStage, LLMCall, Program, Run
from evolve.database.records import RunInfo
from evolve.database.settings import ArchiveSettings
from evolve.statuses import NOT_CANDIDATES, Origin, Status


class HasEngine(Protocol):
    """What a query needs of a ``ProgramDatabase``: its engine (so no import of the store)."""

    engine: Engine


Source = Union[HasEngine, Engine]

RUNS = Run.__table__
PROGRAMS = Program.__table__
CALLS = LLMCall.__table__
STAGES = EvaluationStage.__table__
STATE = ArchiveState.__table__
CANDIDATE = PROGRAMS.c.origin.notin_(NOT_CANDIDATES)
# What the archive places (``archive._placeable``): ok with a finite score.
PLACEABLE = and_(PROGRAMS.c.status == Status.OK, PROGRAMS.c.score.between(-sys.float_info.max, sys.float_info.max))
# The run's best is what ``RunArchive.best`` names: placeable, not a migrant copy, and of
# equal scores the newer (``Elite.beats``).
BEST_ELIGIBLE = and_(PLACEABLE, PROGRAMS.c.origin != Origin.MIGRANT)
BEST_FIRST = (PROGRAMS.c.score.desc(), PROGRAMS.c.id.desc())
SUMMARY_COLUMNS = ("id", "parent_id", "island", "generation", "origin", "model", "status", "score",
                   "test_score", "error", "feature_cell", "created_at")
CAUSES_SHOWN = 10


def _engine(db: Source) -> Engine:
    return db if isinstance(db, Engine) else db.engine


def _program_summary(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in SUMMARY_COLUMNS}


def error_headline(error: str | None) -> str:
    """The line of an error that names it: a traceback's last line, else the first line."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def _best_of_run(run_id: Any) -> Any:
    return (
        select(PROGRAMS.c.id).where(PROGRAMS.c.run_id == run_id, BEST_ELIGIBLE)
        .order_by(*BEST_FIRST).limit(1).scalar_subquery()
    )


def list_runs(db: Source) -> list[dict[str, Any]]:
    """Every run, newest first: candidates, failures, the best program with its own test
    score (and the highest test score, which may belong to another), dollars, last activity."""
    stats = (
        select(
            PROGRAMS.c.run_id,
            func.sum(case((CANDIDATE, 1), else_=0)).label("candidates"),
            func.sum(case((and_(CANDIDATE, PROGRAMS.c.status != Status.OK), 1), else_=0)).label("failed"),
            func.max(PROGRAMS.c.test_score).label("max_test_score"),
            func.max(PROGRAMS.c.created_at).label("last_program_at"),
        )
        .group_by(PROGRAMS.c.run_id)
        .subquery()
    )
    cost = (
        select(CALLS.c.run_id, func.sum(CALLS.c.cost_usd).label("cost_usd"),
               func.max(CALLS.c.created_at).label("last_call_at"))
        .group_by(CALLS.c.run_id).subquery()
    )
    best = PROGRAMS.alias("best")
    query = (
        select(RUNS, stats.c.candidates, stats.c.failed, stats.c.max_test_score, stats.c.last_program_at,
               cost.c.cost_usd, cost.c.last_call_at, STATE.c.updated_at.label("state_at"),
               best.c.id.label("best_id"), best.c.score.label("best_score"), best.c.test_score.label("best_test_score"))
        .outerjoin(stats, stats.c.run_id == RUNS.c.id)
        .outerjoin(cost, cost.c.run_id == RUNS.c.id)
        .outerjoin(STATE, STATE.c.run_id == RUNS.c.id)
        .outerjoin(best, best.c.id == _best_of_run(RUNS.c.id))
        .order_by(RUNS.c.id.desc())
    )
    with _engine(db).connect() as conn:
        return [
            {
                "id": row.id, "name": row.name, "problem": row.problem, "status": row.status,
                "candidates": int(row.candidates or 0), "failed": int(row.failed or 0),
                "best_id": row.best_id, "best_score": row.best_score, "best_test_score": row.best_test_score,
                "max_test_score": row.max_test_score, "cost_usd": float(row.cost_usd or 0.0),
                "created_at": row.created_at, "updated_at": row.updated_at,
                "last_activity": max(t for t in (row.updated_at, row.last_program_at, row.last_call_at, row.state_at)
                                     if t is not None),
                "target": (row.config or {}).get("iterations"),
            }
            for row in conn.execute(query)
        ]


def failure_causes(db: Source, run_id: int, limit: int = CAUSES_SHOWN) -> list[dict[str, Any]]:
    """The most frequent failure messages of the run's candidates (by status and headline),
    each with one program that shows it."""
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], int] = {}
    with _engine(db).connect() as conn:
        rows = conn.execute(
            select(PROGRAMS.c.id, PROGRAMS.c.status, PROGRAMS.c.error)
            .where(PROGRAMS.c.run_id == run_id, CANDIDATE, PROGRAMS.c.status != Status.OK)
            .order_by(PROGRAMS.c.id)
        )
        for row in rows:
            key = (row.status, error_headline(row.error))
            counts[key] += 1
            examples.setdefault(key, row.id)
    return [
        {"status": status, "error": headline, "count": count, "example_id": examples[(status, headline)]}
        for (status, headline), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    ]


def run_summary(db: Source, run: RunInfo | int) -> dict[str, Any]:
    """Counts by status, per-island candidates and failures, failure causes, model spending."""
    if isinstance(run, int):
        run = _run(db, run)
    run_rows = PROGRAMS.c.run_id == run.id
    with _engine(db).connect() as conn:
        by_status = dict(
            conn.execute(
                select(PROGRAMS.c.status, func.count()).where(run_rows, CANDIDATE).group_by(PROGRAMS.c.status)
            ).all()
        )
        islands = [
            {"island": island, "candidates": int(candidates or 0), "failed": int(failed or 0)}
            for island, candidates, failed in conn.execute(
                select(
                    PROGRAMS.c.island,
                    func.sum(case((CANDIDATE, 1), else_=0)),
                    func.sum(case((and_(CANDIDATE, PROGRAMS.c.status != Status.OK), 1), else_=0)),
                )
                .where(run_rows)
                .group_by(PROGRAMS.c.island)
                .order_by(PROGRAMS.c.island)
            )
        ]
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
        "counts": {**by_status, "total": total, "failed": total - by_status.get(Status.OK, 0)},
        "failure_causes": failure_causes(db, run.id),
        "islands": islands,
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
    """The best distinct programs (migrant copies left out), best first by ``BEST_FIRST``
    on the train ``score`` (the first is ``RunArchive.best``), or by ``test_score``."""
    if by == "test_score":
        where, order = PROGRAMS.c.test_score.is_not(None), (PROGRAMS.c.test_score.desc(), PROGRAMS.c.id.desc())
    else:
        where, order = PROGRAMS.c.score.is_not(None), BEST_FIRST
    query = (
        select(*[PROGRAMS.c[n] for n in SUMMARY_COLUMNS])
        .where(PROGRAMS.c.run_id == run_id, BEST_ELIGIBLE, where)
        .order_by(*order)
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
        duplicate_of = conn.execute(
            select(PROGRAMS.c.id).where(PROGRAMS.c.run_id == row.run_id, PROGRAMS.c.code_hash == row.code_hash,
                                        PROGRAMS.c.id != row.id, PROGRAMS.c.status != Status.DUPLICATE)
            .order_by(PROGRAMS.c.id).limit(1)
        ).scalar() if row.status == Status.DUPLICATE else None
    return {**dict(row._mapping), "stages": stages, "llm_calls": calls, "duplicate_of": duplicate_of}


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


ATTEMPT_COLUMNS = ("id", "parent_id", "island", "origin", "status", "score", "created_at")


def run_attempts(db: Source, run_id: int, origin: str | None = None) -> list[dict[str, Any]]:
    """Every row's place and outcome (or only those of one ``origin``), without code or
    artifacts: what charts need."""
    conditions = [PROGRAMS.c.run_id == run_id] + ([PROGRAMS.c.origin == origin] if origin else [])
    with _engine(db).connect() as conn:
        rows = conn.execute(
            select(*[PROGRAMS.c[n] for n in ATTEMPT_COLUMNS]).where(*conditions).order_by(PROGRAMS.c.id)
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


def archive_snapshot(db: Source, run_id: int) -> dict[str, Any]:
    """The run's islands and grids as the archive holds them, rebuilt by replaying the rows
    through the archive's own placement (stored ``feature_cell`` values predate later
    re-binnings of adaptive axes, so they are not trusted)."""
    run = _run(db, run_id)
    settings = ArchiveSettings.model_validate((run.config or {}).get("archive") or {})
    archive = RunArchive(_engine(db), run, settings, run.seed)
    try:
        return archive.state()
    finally:
        archive.close()


@dataclass
class ProgramFilter:
    """What the program table shows: ``None`` leaves a column unfiltered."""

    statuses: tuple[str, ...] = ()
    island: int | None = None
    origin: str | None = None
    model: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    min_generation: int | None = None
    max_generation: int | None = None
    error: str | None = None


TABLE_COLUMNS = ("id", "parent_id", "island", "generation", "origin", "model", "status", "score", "test_score",
                 "error", "created_at")


def _conditions(run_id: int, f: ProgramFilter) -> list[Any]:
    c = PROGRAMS.c
    conditions: list[Any] = [c.run_id == run_id]
    bounds = [(f.island, c.island.__eq__), (f.origin, c.origin.__eq__), (f.model, c.model.__eq__),
              (f.min_score, c.score.__ge__), (f.max_score, c.score.__le__),
              (f.min_generation, c.generation.__ge__), (f.max_generation, c.generation.__le__)]
    conditions += [compare(value) for value, compare in bounds if value is not None]
    if f.statuses:
        conditions.append(c.status.in_(f.statuses))
    if f.error:
        conditions.append(c.error.ilike(f"%{f.error}%"))
    return conditions


def program_table(db: Source, run_id: int, f: ProgramFilter, sort: str = "id", descending: bool = False,
                  offset: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
    """One page of the run's programs (every row, migrants and the seed included), and how
    many match; empty values sort last either way, ties by id."""
    if sort not in TABLE_COLUMNS:
        raise ValueError(f"cannot sort programs by {sort!r}; use one of {', '.join(TABLE_COLUMNS)}")
    column = PROGRAMS.c[sort]
    conditions = _conditions(run_id, f)
    order = [column.is_(None), column.desc() if descending else column.asc(),
             PROGRAMS.c.id.desc() if descending else PROGRAMS.c.id.asc()]
    with _engine(db).connect() as conn:
        total = conn.execute(select(func.count()).select_from(PROGRAMS).where(*conditions)).scalar_one()
        rows = conn.execute(
            select(*[PROGRAMS.c[n] for n in TABLE_COLUMNS]).where(*conditions)
            .order_by(*order).offset(offset).limit(limit)
        ).all()
    return [dict(row._mapping) for row in rows], int(total)


def table_choices(db: Source, run_id: int) -> dict[str, list[Any]]:
    """The values the table's filters offer: statuses, islands, origins and models present."""
    choices = {}
    with _engine(db).connect() as conn:
        for name in ("status", "island", "origin", "model"):
            column = PROGRAMS.c[name]
            choices[name] = [v for v in conn.execute(
                select(column).where(PROGRAMS.c.run_id == run_id, column.is_not(None)).distinct().order_by(column)
            ).scalars()]
    return choices


POPULATION_COLUMNS = ("id", "parent_id", "generation", "island", "origin", "status", "score")


def population(db: Source, run_id: int) -> list[tuple[Any, ...]]:
    """Every row of the run as a bare tuple (``POPULATION_COLUMNS``), oldest first: the tree."""
    with _engine(db).connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(*[PROGRAMS.c[n] for n in POPULATION_COLUMNS]).where(PROGRAMS.c.run_id == run_id).order_by(PROGRAMS.c.id)
        )]


def call_costs(db: Source, run_id: int) -> list[tuple[float, float]]:
    """(time, dollars) of every model call of the run, oldest first: spending over time."""
    with _engine(db).connect() as conn:
        return [(row.created_at, float(row.cost_usd or 0.0)) for row in conn.execute(
            select(CALLS.c.created_at, CALLS.c.cost_usd).where(CALLS.c.run_id == run_id).order_by(CALLS.c.created_at)
        )]

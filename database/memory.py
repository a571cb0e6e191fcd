"""The run's memory: what a model wrote down, every so many candidates, about what the
search has learnt, and the evidence it was shown.

Each note is a row (``run_memories``), so the history stays and a resumed run reads the
latest back. The evidence is read from the program rows alone: the children that raised
their parent's score most, the most frequent failure causes, and recent children that did
not beat their parent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import aliased

from evolve.database.models import Program, RunMemory
from evolve.database.outage import Outage
from evolve.database.queries import CANDIDATE, failure_causes
from evolve.database.storable import storable
from evolve.statuses import Status

MEMORIES = RunMemory.__table__
PROGRAMS = Program.__table__
DIFF_CHARS = 1200


@dataclass
class MemoryNote:
    id: int
    run_id: int
    candidates: int  # candidates recorded when it was written
    text: str
    call_id: int | None
    created_at: float


def _note(row: Any) -> MemoryNote:
    return MemoryNote(row.id, row.run_id, row.candidates, row.text, row.call_id, row.created_at)


def store_memory(engine: Engine, run_id: int, candidates: int, text: str, call_id: int | None,
                 outage: Outage | None = None) -> MemoryNote:
    values = dict(run_id=run_id, candidates=candidates, text=storable(text), call_id=call_id, created_at=time.time())

    def write() -> int:
        with engine.begin() as conn:
            return int(conn.execute(insert(MEMORIES).values(**values)).inserted_primary_key[0])

    memory_id = outage.run(write) if outage is not None else write()
    return MemoryNote(memory_id, **values)


def latest_memory(engine: Engine, run_id: int) -> MemoryNote | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(MEMORIES).where(MEMORIES.c.run_id == run_id).order_by(MEMORIES.c.id.desc()).limit(1)
        ).first()
    return _note(row) if row is not None else None


def memory_history(engine: Engine, run_id: int) -> list[MemoryNote]:
    with engine.connect() as conn:
        rows = conn.execute(select(MEMORIES).where(MEMORIES.c.run_id == run_id).order_by(MEMORIES.c.id)).all()
    return [_note(row) for row in rows]


def _clip(diff: str | None) -> str:
    text = (diff or "").strip()
    return text if len(text) <= DIFF_CHARS else text[:DIFF_CHARS] + "\n[... cut ...]"


def memory_evidence(engine: Engine, run_id: int, shown: int = 5) -> dict[str, list[dict[str, Any]]]:
    """What the note is written from: ``gains`` (largest score rises over the parent, with
    their diffs), ``failures`` (causes by count) and ``no_gain`` (recent children that did
    not beat their parent)."""
    parent = aliased(Program, name="parent")
    child = PROGRAMS.c
    delta = (child.score - parent.score).label("delta")
    base = (
        select(child.id, child.parent_id, child.score, child.diff, child.origin, delta)
        .join(parent, parent.id == child.parent_id)
        .where(child.run_id == run_id, CANDIDATE, child.status == Status.OK, child.score.is_not(None),
               parent.score.is_not(None))
    )
    with engine.connect() as conn:
        gains = conn.execute(base.where(delta > 0).order_by(delta.desc(), child.id).limit(shown)).all()
        flat = conn.execute(base.where(delta <= 0).order_by(child.id.desc()).limit(shown)).all()

    def rows(found: list[Any]) -> list[dict[str, Any]]:
        return [{"id": r.id, "parent_id": r.parent_id, "score": r.score, "delta": r.delta,
                 "origin": r.origin, "diff": _clip(r.diff)} for r in found]

    return {"gains": rows(gains), "failures": failure_causes(engine, run_id, limit=shown), "no_gain": rows(flat)}

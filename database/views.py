"""Turning program rows into ``ProgramView`` records, fetched by id with a small cache.

The driver's index holds no code; the few programs a prompt needs are read by id, and
recently used ones (elites are chosen again and again) are kept here.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable

from sqlalchemy import Connection, bindparam, select

from evolve.database.models import Program
from evolve.database.records import ProgramView

PROGRAMS = Program.__table__
VIEW_COLUMNS = [
    PROGRAMS.c[name]
    for name in (
        "id", "run_id", "parent_id", "island", "generation", "code", "code_hash", "origin", "status",
        "score", "metrics", "artifacts", "model", "feature_cell", "created_at", "diff", "error",
        "test_score", "test_metrics",
    )
]

SELECT_VIEWS = select(*VIEW_COLUMNS).where(PROGRAMS.c.id.in_(bindparam("view_ids", expanding=True)))


def view_from_row(row: Any) -> ProgramView:
    return ProgramView(
        id=row.id,
        run_id=row.run_id,
        parent_id=row.parent_id,
        island=row.island,
        generation=row.generation,
        code=row.code,
        code_hash=row.code_hash,
        origin=row.origin,
        status=row.status,
        score=row.score,
        metrics=row.metrics or {},
        artifacts=row.artifacts or {},
        model=row.model,
        feature_cell=tuple(row.feature_cell) if row.feature_cell is not None else None,
        created_at=row.created_at,
        diff=row.diff,
        error=row.error,
        test_score=row.test_score,
        test_metrics=row.test_metrics,
    )


class ViewCache:
    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._views: OrderedDict[int, ProgramView] = OrderedDict()

    def put(self, view: ProgramView) -> None:
        self._views[view.id] = view
        self._views.move_to_end(view.id)
        while len(self._views) > self.capacity:
            self._views.popitem(last=False)

    def forget(self, program_id: int) -> None:
        self._views.pop(program_id, None)

    def fetch(self, conn_factory: Any, ids: Iterable[int]) -> dict[int, ProgramView]:
        """Views for ``ids``, reading only the ones not cached (in one query)."""
        wanted = list(dict.fromkeys(ids))
        found = {i: self._views[i] for i in wanted if i in self._views}
        missing = [i for i in wanted if i not in found]
        if missing:
            with conn_factory() as conn:
                for view in read_views(conn, missing):
                    found[view.id] = view
                    self.put(view)
        for i in wanted:
            if i in self._views:
                self._views.move_to_end(i)
        return found


def read_views(conn: Connection, ids: list[int]) -> list[ProgramView]:
    rows = conn.execute(SELECT_VIEWS, {"view_ids": ids})
    return [view_from_row(row) for row in rows]

"""The program database: one catalogue of runs (SQLite file or PostgreSQL server)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, insert, select, update

from evolve.database import DEFAULT_URL, DEFAULT_WAIT_S
from evolve.database.archive import RunArchive
from evolve.database.connection import make_engine, normalise_url, parse_url, require_existing, upgrade_schema
from evolve.database.errors import DatabaseError, RunNotFound
from evolve.database.models import ArchiveState, Run
from evolve.database.outage import Outage
from evolve.database.records import RUN_STATUSES, RunInfo
from evolve.database.settings import ArchiveSettings
from evolve.database.storable import storable

RUNS = Run.__table__
STATE = ArchiveState.__table__


def _run_info(row: Any) -> RunInfo:
    return RunInfo(
        id=row.id,
        name=row.name,
        problem=row.problem,
        status=row.status,
        config=row.config,
        seed=row.seed,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ProgramDatabase:
    """Opening one brings its schema to the current version, so a database written by
    an older evolve opens as if it were new. Every commit survives a killed driver;
    ``flush_each_commit`` also makes it survive power loss (see ``make_engine``).
    ``create=False`` is for commands that work on existing runs: a database that is not
    there is an error (``NoDatabase``) instead of a new, empty catalogue. A driver's writes
    wait up to ``wait_s`` for a database that went away (``database.outage``)."""

    def __init__(self, url: str = DEFAULT_URL, flush_each_commit: bool = False, create: bool = True,
                 wait_s: float = DEFAULT_WAIT_S) -> None:
        self.url = normalise_url(url)
        if not create:
            require_existing(parse_url(self.url), url)
        self.engine: Engine = make_engine(self.url, flush_each_commit)
        upgrade_schema(self.engine, create=create)
        self.outage = Outage(wait_s, self.display_url)

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def create_run(self, name: str | None, problem: str, config: dict[str, Any], seed: int) -> RunInfo:
        now = time.time()
        with self.engine.begin() as conn:
            if name is not None and conn.execute(select(RUNS.c.id).where(RUNS.c.name == name)).first():
                raise DatabaseError(f"a run named {name!r} already exists in {self.display_url}; pick another name")
            run_id = conn.execute(
                insert(RUNS).values(
                    name=name or f"{problem}-pending-{now}",
                    problem=problem,
                    status="running",
                    config=storable(config),
                    seed=seed,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            if name is None:
                conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(name=f"{problem}-{run_id}"))
            conn.execute(insert(STATE).values(run_id=run_id, updated_at=now))
        return self.run(run_id)

    def run(self, run_id: int) -> RunInfo:
        with self.engine.connect() as conn:
            row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
        if row is None:
            raise self._not_found(str(run_id))
        return _run_info(row)

    def runs(self) -> list[RunInfo]:
        with self.engine.connect() as conn:
            return [_run_info(row) for row in conn.execute(select(RUNS).order_by(RUNS.c.id))]

    def open_run(self, ref: str | int) -> RunInfo:
        """``ref`` is a run id, a run name or ``latest``."""
        ref = str(ref)
        with self.engine.connect() as conn:
            if ref == "latest":
                query = select(RUNS).order_by(RUNS.c.id.desc()).limit(1)
            elif ref.isdigit():
                query = select(RUNS).where(RUNS.c.id == int(ref))
            else:
                query = select(RUNS).where(RUNS.c.name == ref)
            row = conn.execute(query).first()
            if row is None and ref.isdigit():
                row = conn.execute(select(RUNS).where(RUNS.c.name == ref)).first()
        if row is None:
            raise self._not_found(ref)
        return _run_info(row)

    def _not_found(self, ref: str) -> RunNotFound:
        with self.engine.connect() as conn:
            names = list(conn.execute(select(RUNS.c.name).order_by(RUNS.c.id.desc()).limit(10)).scalars())
        listing = ", ".join(names) if names else "none"
        return RunNotFound(f"no run {ref!r} in {self.display_url}; runs there: {listing}")

    def set_run_status(self, run_id: int, status: str) -> None:
        if status not in RUN_STATUSES:
            raise DatabaseError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")

        def write() -> int:
            with self.engine.begin() as conn:
                return conn.execute(
                    update(RUNS).where(RUNS.c.id == run_id).values(status=status, updated_at=time.time())
                ).rowcount

        if not self.outage.run(write):
            raise self._not_found(str(run_id))

    def archive(self, run_id: int, settings: ArchiveSettings, seed: int) -> RunArchive:
        """The run's archive; a run with programs is rebuilt from its rows (resume)."""
        return RunArchive(self.engine, self.run(run_id), settings, seed, self.outage)

    def store_bandit_state(self, run_id: int, state: dict[str, Any]) -> None:
        def write() -> None:
            with self.engine.begin() as conn:
                conn.execute(update(STATE).where(STATE.c.run_id == run_id)
                             .values(bandit_state=storable(state), updated_at=time.time()))

        self.outage.run(write)

    def load_bandit_state(self, run_id: int) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            with self.engine.connect() as conn:
                return conn.execute(select(STATE.c.bandit_state).where(STATE.c.run_id == run_id)).scalar()

        return self.outage.run(read)

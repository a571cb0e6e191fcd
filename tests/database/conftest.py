"""Every database test runs on SQLite and on a real PostgreSQL server (tests/conftest.py starts it)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase, RunArchive
from tests.support.pg_cluster import TemporaryPostgres

_names = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/runs/evolve.db"
    server: TemporaryPostgres = request.getfixturevalue("postgres_server")
    return server.new_database(f"test_{next(_names)}")


@pytest.fixture
def db(db_url: str) -> Iterator[ProgramDatabase]:
    database = ProgramDatabase(db_url)
    yield database
    database.close()


SEED_CODE = "def solve(x):\n    # the seed\n    return x\n"


def make_archive(db: ProgramDatabase, seed: int = 3, **settings) -> RunArchive:
    """A run with an ok seed recorded (score 1.0)."""
    run = db.create_run(None, "toy", {"k": 1}, seed)
    archive = db.archive(run.id, ArchiveSettings(**settings), seed)
    archive.record(NewProgram(None, 0, 0, SEED_CODE, "seed", "ok", score=1.0))
    return archive


@pytest.fixture
def seeded_archive():
    return make_archive


def child_code(parent: str, step: int) -> str:
    return parent + f"    y{step} = {step}\n"


def grow(archive: RunArchive, steps: int, fail_every: int = 0) -> list[int]:
    """Sample-mutate-record ``steps`` times with a fixed, reproducible scoring."""
    ids = []
    for step in range(steps):
        sample = archive.sample()
        failed = fail_every and step % fail_every == fail_every - 1
        view = archive.record(
            NewProgram(
                sample.parent.id, sample.island, sample.generation, child_code(sample.parent.code, step),
                "diff", "error" if failed else "ok",
                score=None if failed else float((step * 7919) % 101) / 10,
                error=f"ZeroDivisionError at step {step}" if failed else None,
            )
        )
        ids.append(view.id)
    return ids


@pytest.fixture
def grow_archive():
    return grow

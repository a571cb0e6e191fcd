"""The database going away under a driver: a real PostgreSQL server shut down and started
again, a SQLite file another process keeps locked, and an outage that outlasts the wait."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase
from evolve.database.call_journal import CALLS, CallJournal
from evolve.database.errors import ArchiveError, DatabaseUnavailable
from evolve.database.models import Program
from evolve.database.records import LLMCallRecord
from tests.database.conftest import child_code, make_archive

PROGRAMS = Program.__table__


def candidate(archive, step: int) -> NewProgram:
    sample = archive.sample()
    return NewProgram(sample.parent.id, sample.island, sample.generation, child_code(sample.parent.code, step),
                      "diff", "ok", score=float(step % 7))


def rows(db: ProgramDatabase, table=PROGRAMS) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def pg(postgres_server):
    """The session's server, certainly running again after the test."""
    yield postgres_server
    try:
        postgres_server.start_again()
    except Exception:  # already running
        pass


def restart_later(server, down_s: float) -> threading.Timer:
    server.shut_down()
    timer = threading.Timer(down_s, server.start_again)
    timer.start()
    return timer


@pytest.mark.postgres
def test_a_restarted_postgresql_server_loses_and_repeats_no_candidate(pg):
    db = ProgramDatabase(pg.new_database("restarted"), wait_s=60)
    archive = make_archive(db, num_islands=2, migration_interval=2)
    for step in range(6):
        archive.record(candidate(archive, step))
    timer = restart_later(pg, down_s=2.0)
    began = time.monotonic()
    for step in range(6, 14):  # the first of these waits for the server
        archive.record(candidate(archive, step))
    timer.join()
    assert time.monotonic() - began >= 1.5
    assert db.outage.retries >= 1
    assert archive.counts()["total"] == 14
    with db.engine.connect() as conn:
        keys = list(conn.execute(select(PROGRAMS.c.write_key).where(PROGRAMS.c.origin != "migrant")).scalars())
        cursors = list(conn.execute(select(PROGRAMS.c.sample_count).where(PROGRAMS.c.origin == "diff")).scalars())
    assert len(keys) == len(set(keys)) == 15 and None not in keys
    assert sorted(cursors) == list(range(1, 15))  # one row per sample drawn, none drawn twice
    live = archive.state()
    archive.close()
    assert db.archive(archive.run.id, archive.settings, archive.seed).state() == live


@pytest.mark.postgres
def test_the_model_call_journal_waits_for_a_restarted_server(pg):
    db = ProgramDatabase(pg.new_database("journal_restart"), wait_s=60)
    run = db.create_run(None, "toy", {}, 0)
    journal = CallJournal(db.engine, run.id, budget_usd=1.0, outage=db.outage)
    first = journal.open("m", "mutation", "prompt", 0.01)
    timer = restart_later(pg, down_s=2.0)
    second = journal.open("m", "mutation", "prompt", 0.01)
    journal.close(first, LLMCallRecord("m", "prompt", "answer", 10, 5, 0.004), [{"outcome": "ok"}])
    timer.join()
    journal.close(second, LLMCallRecord("m", "prompt", "answer", 10, 5, 0.003), [{"outcome": "ok"}])
    assert rows(db, CALLS) == 2
    with db.engine.connect() as conn:
        states = sorted(conn.execute(select(CALLS.c.state, CALLS.c.cost_usd)).all())
    assert states == [("answered", 0.003), ("answered", 0.004)]


@pytest.mark.postgres
def test_past_the_wait_the_write_gives_up_in_one_line_and_the_run_resumes_later(pg):
    url = pg.new_database("gone")
    db = ProgramDatabase(url, wait_s=1.5)
    archive = make_archive(db)
    archive.record(candidate(archive, 0))
    pg.shut_down()
    try:
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as raised:
            archive.record(candidate(archive, 1))
        assert 1.4 <= time.monotonic() - began < 10
        message = str(raised.value)
        assert "\n" not in message and "unreachable for" in message and "resume" in message
        with pytest.raises(DatabaseUnavailable):  # given up: the next write does not wait again
            db.set_run_status(archive.run.id, "interrupted")
        assert time.monotonic() - began < 10
        with pytest.raises(ArchiveError):
            archive.record(candidate(archive, 2))
    finally:
        pg.start_again()
    again = ProgramDatabase(url)
    resumed = again.archive(archive.run.id, archive.settings, archive.seed)
    assert resumed.counts()["total"] == 1
    resumed.record(candidate(resumed, 1))
    assert resumed.counts()["total"] == 2


def test_recording_the_same_attempt_twice_stores_it_once(db, seeded_archive):
    archive = seeded_archive(db)
    attempt = candidate(archive, 0)
    attempt.write_key = "a" * 32
    first = archive.record(attempt)
    again = archive.record(attempt)
    assert again.id == first.id and rows(db) == 2 and archive.counts()["total"] == 1
    archive.close()
    reopened = db.archive(archive.run.id, archive.settings, archive.seed)
    assert reopened.record(attempt).id == first.id and rows(db) == 2 and reopened.counts()["total"] == 1


@pytest.mark.slow
def test_a_sqlite_file_locked_longer_than_the_busy_timeout_is_waited_for(tmp_path: Path):
    path = tmp_path / "locked.db"
    db = ProgramDatabase(f"sqlite:///{path}", wait_s=60)
    archive = make_archive(db, num_islands=1)
    archive.record(candidate(archive, 0))
    holder = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(11.0, holder.execute, ["COMMIT"])  # SQLite itself waits 10 s
    release.start()
    began = time.monotonic()
    view = archive.record(candidate(archive, 1))
    release.join()
    holder.close()
    assert time.monotonic() - began >= 10.5 and db.outage.retries >= 1
    assert rows(db) == 3 and archive.counts()["total"] == 2
    live = archive.state()
    assert live["best_id"] in (view.id, archive.seed_program().id)
    archive.close()
    assert db.archive(archive.run.id, ArchiveSettings(num_islands=1), archive.seed).state() == live

"""The run lease on SQLite and a real PostgreSQL server: one driver per run."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from sqlalchemy import update

from evolve.database.errors import RunHeld
from evolve.database.lease import LEASES, acquire, holder_of


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_held_run_is_refused_with_the_holder_and_how_to_take_over(db):
    run = db.create_run("dr", "toy", {}, 0)
    lease = acquire(db.engine, run)
    with pytest.raises(RunHeld) as refused:
        acquire(db.engine, run)
    message = str(refused.value)
    assert "\n" not in message
    assert f"pid {holder_of(db.engine, run.id).pid}" in message
    assert "evolve resume dr --force" in message
    lease.release()
    assert holder_of(db.engine, run.id) is None
    acquire(db.engine, run).release()


def test_a_lease_whose_heartbeat_stopped_is_taken_over_without_a_flag(db):
    run = db.create_run(None, "toy", {}, 0)
    old = acquire(db.engine, run)
    with db.engine.begin() as conn:
        conn.execute(update(LEASES).values(heartbeat_at=time.time() - 60, host="elsewhere"))
    new = acquire(db.engine, run, stale_after_s=15)
    assert new.taken_from is not None and new.taken_from.host == "elsewhere"
    assert old.beat() == f"run {run.name} was taken over by another driver"
    assert new.beat() is None
    new.release()


def test_a_lease_of_a_dead_process_on_this_host_is_free_at_once(db):
    run = db.create_run(None, "toy", {}, 0)
    acquire(db.engine, run)
    with db.engine.begin() as conn:
        conn.execute(update(LEASES).values(pid=dead_pid()))  # heartbeat fresh, process gone
    taken = acquire(db.engine, run)
    assert taken.taken_from is not None
    taken.release()


def test_heartbeats_keep_a_lease_live_and_force_asks_the_holder_to_stop(db):
    run = db.create_run("held", "toy", {}, 0)
    holder = acquire(db.engine, run, heartbeat_s=0.1)
    told: list[str] = []
    stopped = threading.Event()

    def on_stop(reason: str) -> None:
        told.append(reason)
        stopped.set()

    holder.watch(on_stop)
    time.sleep(0.5)
    with pytest.raises(RunHeld):
        acquire(db.engine, run, stale_after_s=0.4)  # beats every 0.1 s: never stale

    def release_when_told() -> None:
        stopped.wait(10)
        holder.release()

    threading.Thread(target=release_when_told).start()
    taker = acquire(db.engine, run, force=True, stale_after_s=5, wait_s=20)
    assert told and "--force" in told[0]
    assert holder_of(db.engine, run.id).token == taker.token
    taker.release()


def test_force_gives_up_on_a_holder_that_does_not_stop(db):
    run = db.create_run("stuck", "toy", {}, 0)
    holder = acquire(db.engine, run, heartbeat_s=0.1)
    holder.watch(lambda reason: None)  # told to stop, never lets go
    with pytest.raises(RunHeld, match="did not stop within 1 s"):
        acquire(db.engine, run, force=True, stale_after_s=5, wait_s=1)
    holder.release()

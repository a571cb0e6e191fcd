"""One driver per run: a lease row (host, pid, start, heartbeat) in the run's database.

Two drivers on one run would sample from the same cursor and write duplicate candidates,
so a driver takes the run's lease before it touches the archive and refreshes it from a
thread while it works. A lease whose heartbeat stopped, or whose process is gone from
this host, belonged to a killed driver and is taken over; a live one only on request
(``force``), which asks the holder to stop and waits until it has let go. Plain rows and
conditional updates, so SQLite and PostgreSQL behave the same.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from evolve.database.errors import RunHeld
from evolve.database.models import RunLease
from evolve.database.records import RunInfo

LEASES = RunLease.__table__
HEARTBEAT_S = 2.0
STALE_AFTER_S = 15.0  # several missed heartbeats: the driver is gone or cut off
TAKEOVER_WAIT_S = 300.0  # how long --force waits for the holder to finish its candidates in flight


@dataclass(frozen=True)
class Holder:
    token: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    stop_requested_by: str | None
    ray_session: str | None

    def describe(self, now: float) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started_at))
        return f"pid {self.pid} on {self.host} (started {started}, last heartbeat {now - self.heartbeat_at:.0f} s ago)"

    def is_stale(self, now: float, stale_after_s: float) -> bool:
        if now - self.heartbeat_at > stale_after_s:
            return True
        return self.host == socket.gethostname() and not _process_alive(self.pid)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_of(engine: Engine, run_id: int) -> Holder | None:
    with engine.connect() as conn:
        row = conn.execute(select(LEASES).where(LEASES.c.run_id == run_id)).first()
    return None if row is None else Holder(row.token, row.host, row.pid, row.started_at, row.heartbeat_at,
                                           row.stop_requested_by, row.ray_session)


class Lease:
    """A held lease. ``watch`` starts the heartbeat; ``release`` lets the run go."""

    def __init__(self, engine: Engine, run: RunInfo, token: str, taken_from: Holder | None,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self.engine, self.run, self.token = engine, run, token
        self.taken_from = taken_from  # the killed or stopped driver this lease replaced, if any
        self.heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def me(self) -> str:
        return f"pid {os.getpid()} on {socket.gethostname()}"

    def _mine(self) -> Any:
        return (LEASES.c.run_id == self.run.id) & (LEASES.c.token == self.token)

    def beat(self) -> str | None:
        """Refresh the heartbeat; returns why this driver must stop, or None to go on."""
        with self.engine.begin() as conn:
            held = conn.execute(update(LEASES).where(self._mine()).values(heartbeat_at=time.time())).rowcount
            asked = conn.execute(select(LEASES.c.stop_requested_by).where(self._mine())).scalar()
        if not held:
            return f"run {self.run.name} was taken over by another driver"
        return f"{asked} asked this driver to stop" if asked else None

    def watch(self, on_stop: Callable[[str], None]) -> None:
        """Beat from a thread until released; ``on_stop(reason)`` once when told to stop.

        A beat that fails (database away) is tried again at the next one: the lease only goes
        stale after several missed beats, and the archive's own writes decide about the run.
        """
        def loop() -> None:
            while not self._stop.wait(self.heartbeat_s):
                try:
                    reason = self.beat()
                except Exception:  # the database is away; the next beat tries again
                    continue
                if reason is not None:
                    on_stop(reason)
                    return

        self._thread = threading.Thread(target=loop, name=f"lease-{self.run.id}", daemon=True)
        self._thread.start()

    def note_ray_session(self, session: str | None) -> None:
        """Where this driver's private Ray lives, so the next driver can clear what a kill left."""
        with self.engine.begin() as conn:
            conn.execute(update(LEASES).where(self._mine()).values(ray_session=session))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat_s + 5)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(LEASES).where(self._mine()))
        except SQLAlchemyError:  # the database is away: the lease's process ends, so it is free anyway
            pass


def acquire(engine: Engine, run: RunInfo, force: bool = False, *, stale_after_s: float = STALE_AFTER_S,
            wait_s: float = TAKEOVER_WAIT_S, heartbeat_s: float = HEARTBEAT_S,
            on_wait: Callable[[Holder], None] | None = None) -> Lease:
    """Take the run's lease, or raise ``RunHeld`` naming the holder and how to take over."""
    token = str(uuid.uuid4())
    now = time.time()
    values = dict(run_id=run.id, token=token, host=socket.gethostname(), pid=os.getpid(), started_at=now,
                  heartbeat_at=now, stop_requested_by=None, ray_session=None)
    previous = current = holder_of(engine, run.id)
    if current is not None and not current.is_stale(time.time(), stale_after_s):
        if not force:
            raise RunHeld(
                f"run {run.name} is being driven by {current.describe(time.time())}; wait for it to finish, "
                f"stop it with Ctrl-C, or take over with: evolve resume {run.name} --force"
            )
        current = _ask_to_stop(engine, run, current, stale_after_s, wait_s, on_wait)
    try:
        with engine.begin() as conn:
            if current is None:
                conn.execute(insert(LEASES).values(**values))
            elif not conn.execute(update(LEASES).where((LEASES.c.run_id == run.id) & (LEASES.c.token == current.token))
                                  .values(**values)).rowcount:
                raise IntegrityError("lease replaced meanwhile", None, Exception())
    except IntegrityError:
        raise RunHeld(f"run {run.name} was taken by another driver at the same moment; try again") from None
    return Lease(engine, run, token, previous, heartbeat_s)


def _ask_to_stop(engine: Engine, run: RunInfo, holder: Holder, stale_after_s: float, wait_s: float,
                 on_wait: Callable[[Holder], None] | None) -> Holder | None:
    """Flag the holder to stop and wait until it lets go (None) or dies (its stale lease)."""
    asker = f"evolve resume --force from pid {os.getpid()} on {socket.gethostname()}"
    with engine.begin() as conn:
        conn.execute(update(LEASES).where((LEASES.c.run_id == run.id) & (LEASES.c.token == holder.token))
                     .values(stop_requested_by=asker))
    if on_wait is not None:
        on_wait(holder)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        current = holder_of(engine, run.id)
        if current is None:
            return None
        if current.token != holder.token:
            raise RunHeld(f"run {run.name} was taken over by {current.describe(time.time())} meanwhile")
        if current.is_stale(time.time(), stale_after_s):
            return current
        time.sleep(0.2)
    raise RunHeld(f"run {run.name}: the driver {holder.describe(time.time())} did not stop within {wait_s:.0f} s; "
                  "try again later, or end that process")

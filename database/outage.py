"""Riding out a database that goes away for a while.

A dropped connection, a restarted PostgreSQL server or a SQLite file another process keeps
locked is not the run's fault and usually passes within seconds: the driver waits with
back-off and tries again, for a bounded time. Past the bound it gives up with
``DatabaseUnavailable``, and from then on every operation that meets the database away
gives up at once, so a driver with many candidates in flight stops promptly instead of
waiting the bound again for each.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from evolve.database import DEFAULT_WAIT_S
from evolve.database.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
FIRST_DELAY_S = 0.1
LONGEST_DELAY_S = 5.0
SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")


def _psycopg_connection_error(error: BaseException | None) -> bool:
    """Read through ``sys.modules``: a process that never loaded psycopg (a SQLite run, a
    browsing command) cannot have met its errors, and need not pay for importing it."""
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))


def is_transient(error: BaseException) -> bool:
    """Whether waiting can cure ``error``: the connection or server is away, or SQLite is locked."""
    if _psycopg_connection_error(error):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    if _psycopg_connection_error(original):
        return True
    text = str(original).lower()
    return any(busy in text for busy in SQLITE_BUSY)


def _one_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    return " ".join(str(original).split())[:200] or type(original).__name__


class Outage:
    """How long to wait for the database, shared by everything that writes for one driver."""

    def __init__(self, wait_s: float = DEFAULT_WAIT_S, where: str = "the database") -> None:
        if wait_s < 0:
            raise ValueError(f"the database wait must be zero or more seconds, not {wait_s}")
        self.wait_s, self.where = wait_s, where
        self.retries = 0  # operations that failed and were tried again, for the record
        self._down_since: float | None = None
        self._given_up: str | None = None
        self._lock = threading.Lock()

    def run(self, operation: Callable[[], T], recover: Callable[[], None] | None = None) -> T:
        """``operation()``, tried again after each transient failure until the bound; before
        each new try ``recover()`` (when given) repairs what the failure left."""
        delay, failed = FIRST_DELAY_S, False
        while True:
            try:
                if failed and recover is not None:
                    recover()
                result = operation()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self._wait_or_give_up(exc, delay)
                delay, failed = min(delay * 2, LONGEST_DELAY_S), True
                continue
            self._back(failed)
            return result

    def _wait_or_give_up(self, error: BaseException, delay: float) -> None:
        now = time.monotonic()
        with self._lock:
            if self._given_up is not None:
                raise DatabaseUnavailable(self._given_up) from None
            if self._down_since is None:
                self._down_since = now
                log.warning("%s is unreachable (%s); waiting up to %.0f s for it", self.where, _one_line(error),
                            self.wait_s)
            waited = now - self._down_since
            if waited >= self.wait_s:
                self._given_up = (f"{self.where} was unreachable for {waited:.0f} s ({_one_line(error)}); "
                                  "once it is back, resume the run")
                raise DatabaseUnavailable(self._given_up) from None
            self.retries += 1
        time.sleep(min(delay, max(0.0, self.wait_s - waited)))

    def _back(self, failed: bool) -> None:
        if failed or self._down_since is not None:
            with self._lock:
                if self._down_since is not None:
                    log.warning("%s is back after %.1f s", self.where, time.monotonic() - self._down_since)
                self._down_since = None

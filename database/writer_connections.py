"""The single writer's connections to one run's database.

The archive keeps its connections for the whole run: no pool checkout (or liveness ping)
per candidate. On PostgreSQL a second one, in autocommit, carries everything that is one
statement (reads, and most records): a statement there is one round trip, a transaction
three. After an outage both are replaced, since a connection that saw the server go away
cannot be trusted again.
"""

from __future__ import annotations

from contextlib import contextmanager, suppress
from typing import Iterator

from sqlalchemy import Connection, Engine


class WriterConnections:
    """A transactional connection, and on PostgreSQL an autocommitting one beside it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn = engine.connect()
        self.autocommit: Connection | None = self._autocommitting() if engine.dialect.name == "postgresql" else None

    def _autocommitting(self) -> Connection:
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Committed on leaving (also after reads, so that no snapshot stays open to hold
        back SQLite checkpoints)."""
        with self.conn.begin():
            yield self.conn

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """For work done in a single statement, which is atomic on its own."""
        if self.autocommit is None:
            with self.transaction() as conn:
                yield conn
        else:
            yield self.autocommit

    def reconnect(self) -> None:
        if self.engine.dialect.name == "sqlite":
            return  # a locked file needs no new connection, and a memory database would go with it
        for conn in (self.conn, self.autocommit):
            if conn is not None:
                with suppress(Exception):
                    conn.invalidate()
                with suppress(Exception):
                    conn.close()
        self.conn = self.engine.connect()
        self.autocommit = self._autocommitting()

    def close(self) -> None:
        self.conn.close()
        if self.autocommit is not None:
            self.autocommit.close()

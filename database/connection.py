"""Opening a database: URL conventions, engine settings per back end, schema migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from database.errors import SchemaError

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here, the driver the project ships with."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, flush_each_commit: bool = False) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created, and WAL lets the
    browsers read while the driver writes.

    A commit is durable against a crash or kill of the driver either way. With
    ``flush_each_commit`` it also waits until the disk confirms the write (survives power
    loss and OS crashes), which costs one fsync, milliseconds on many disks, per commit:
    SQLite ``synchronous=FULL`` instead of ``NORMAL``, PostgreSQL ``synchronous_commit``
    on instead of off.
    """
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed)
        else:
            engine = create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
        pragmas = ["journal_mode=WAL", f"synchronous={'FULL' if flush_each_commit else 'NORMAL'}",
                   "foreign_keys=ON", "busy_timeout=10000"]
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
        pragmas = []

    def configure(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        if not pragmas:
            cursor.execute(f"SET synchronous_commit TO {'on' if flush_each_commit else 'off'}")
        cursor.close()
        if not pragmas:
            dbapi_connection.commit()

    event.listen(engine, "connect", configure)
    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one schema revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Create the schema, or migrate an older one, up to ``revision``."""
    target = head_revision() if revision == "head" else revision
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise SchemaError(f"cannot open {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from exc
    if current == target:
        return
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise SchemaError(
            f"{engine.url.render_as_string(hide_password=True)} has schema revision {current!r}, "
            f"newer than this version of evolve knows (head {target!r}); upgrade evolve"
        )
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)

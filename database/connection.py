"""Opening a database: URL conventions, engine settings per back end, schema migration."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from evolve.database.errors import DatabaseURLError, NoDatabase, ReadOnlyDatabase, SchemaError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # where Alembic keeps a database's revision


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here, the driver the project ships with."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


URL_HELP = "use a SQLite file (sqlite:///runs/evolve.db) or a PostgreSQL server (postgresql://user@host/dbname)"


def parse_url(url: str) -> URL:
    """The URL, or one line saying why ``url`` cannot name a database."""
    try:
        parsed = make_url(normalise_url(url))
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseURLError(f"--db {url!r} is not a database URL evolve can open ({detail}); {URL_HELP}") from None
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names (None for memory or other back ends)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = url.database
    if url.query.get("uri") == "true" and database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def require_existing(url: URL, shown: str) -> None:
    """For commands that only read: a SQLite file that is not there is an error, not a new file."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise NoDatabase(f"no database at {path} (from --db {shown}); start a run first, or point --db at one")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _translate_errors(context) -> None:  # type: ignore[no-untyped-def]
    """A write to a read-only SQLite file becomes one line saying so, wherever it happens."""
    original = context.original_exception
    if "readonly database" in str(original) or "read-only" in str(original).lower():
        url = context.engine.url if context.engine is not None else None
        where = str(sqlite_file(url) or url.render_as_string(hide_password=True)) if url is not None else "the database"
        raise ReadOnlyDatabase(f"{where} is read-only for this user; point --db at a file you may write, "
                               f"or fix its permissions (and its folder's, for the WAL files)") from None


def make_engine(url: str, flush_each_commit: bool = False) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created, and WAL lets the
    browsers read while the driver writes.

    A commit is durable against a crash or kill of the driver either way. With
    ``flush_each_commit`` it also waits until the disk confirms the write (survives power
    loss and OS crashes), which costs one fsync, milliseconds on many disks, per commit:
    SQLite ``synchronous=FULL`` instead of ``NORMAL``, PostgreSQL ``synchronous_commit``
    on instead of off.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
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
    event.listen(engine, "handle_error", _translate_errors)
    return engine


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def shipped_revisions() -> dict[str, tuple[str, ...]]:
    """Each shipped schema revision and the ones it revises, read from the migration files
    without Alembic, whose import costs more than opening a database that needs no migration."""
    revisions: dict[str, tuple[str, ...]] = {}
    for path in sorted((MIGRATIONS / "versions").glob("[!_]*.py")):
        declared = {}
        for node in ast.parse(path.read_text()).body:
            names = [getattr(target, "id", None) for target in getattr(node, "targets", ())]
            if names in (["revision"], ["down_revision"]):
                declared[names[0]] = ast.literal_eval(node.value)  # type: ignore[attr-defined]
        if "revision" not in declared:
            raise SchemaError(f"migration {path} declares no revision; every file under {path.parent} needs one")
        down = declared.get("down_revision")
        revisions[declared["revision"]] = () if down is None else (down,) if isinstance(down, str) else tuple(down)
    return revisions


def head_revision() -> str:
    revisions = shipped_revisions()
    revised = {down for downs in revisions.values() for down in downs}
    heads = [revision for revision in revisions if revision not in revised]
    assert len(heads) == 1, f"the shipped schema has one head revision, not {heads}"
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade_schema(engine: Engine, revision: str = "head", create: bool = True) -> None:
    """Create the schema, or migrate an older one, up to ``revision``; with ``create`` off an
    empty database is refused rather than made into a catalogue."""
    target = head_revision() if revision == "head" else revision
    shown = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise DatabaseURLError(f"cannot open {shown}: {_one_line(exc.orig)}") from None
    if current == target:
        return
    if current is None and not create:
        raise NoDatabase(f"{shown} holds no evolve runs (no schema); start a run first, or point --db at a catalogue")
    if current is not None and current not in shipped_revisions():
        raise SchemaError(
            f"{shown} has schema revision {current!r}, newer than this version of evolve knows (head {target!r}); upgrade evolve"
        )
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)

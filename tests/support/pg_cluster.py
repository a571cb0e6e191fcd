"""A throwaway PostgreSQL cluster (initdb + pg_ctl) for tests and benchmarks.

PostgreSQL refuses to run as root, so as root the cluster is owned and run by the
``postgres`` (or ``nobody``) account through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from evolve.database.errors import DatabaseError

SEARCH_DIRS = [Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]


class PostgresUnavailable(DatabaseError):
    """No PostgreSQL server binaries (initdb, pg_ctl) on this machine."""


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    on_path = shutil.which("initdb")
    candidates = ([Path(on_path).resolve().parent] if on_path else []) + SEARCH_DIRS
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TemporaryPostgres:
    """``with TemporaryPostgres() as pg: pg.url`` — a fresh database, removed afterwards."""

    def __init__(self, fsync: bool = True) -> None:
        binaries = find_binaries()
        if binaries is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries not found (looked on PATH and in /usr/lib/postgresql/*/bin); "
                "install postgresql to run the PostgreSQL back end"
            )
        self.binaries = binaries
        self.fsync = fsync
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="evolve-pg-"))
        self.data = self.root / "data"
        self.user = None
        if os.geteuid() == 0:
            self.user = next(u for u in ("postgres", "nobody") if _account_exists(u))
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.url = f"postgresql+psycopg://evolve@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise DatabaseError(f"{' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> "TemporaryPostgres":
        self._run("initdb", "-D", str(self.data), "-U", "evolve", "-A", "trust", "--no-sync", "-E", "UTF8")
        try:
            self.start_again()
        except DatabaseError:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        return self

    def shut_down(self) -> None:
        """Stop the server and keep its data, as an administrator's restart begins: clients
        see their connections ended and new ones refused until ``start_again``."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def start_again(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not self.fsync:
            options += " -c fsync=off -c synchronous_commit=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def new_database(self, name: str) -> str:
        """Create an empty database on this server and return its URL."""
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=evolve dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://evolve@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "TemporaryPostgres":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True

"""A small run built through the public database API, served on a free local port."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import uvicorn

from evolve.database import ArchiveSettings, LLMCallRecord, NewProgram, ProgramDatabase
from evolve.database.call_journal import CallJournal
from evolve.web.app import create_app
from evolve.web.reader import RunReader

SCRIPT = "<script>alert(1)</script>"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def build_run(url: str, candidates: int) -> dict[str, int]:
    db = ProgramDatabase(url)
    settings = ArchiveSettings(num_islands=2)
    run = db.create_run("demo", "toy", {"archive": settings.model_dump()}, seed=0)
    archive = db.archive(run.id, settings, seed=0)
    seed = archive.record(NewProgram(None, 0, 0, "def f(x):\n    return x\n", "seed", "ok", score=0.0))
    ids = {"seed": seed.id}
    journal = CallJournal(db.engine, run.id)
    parent = seed
    for i in range(1, candidates + 1):
        status = "ok" if i % 4 else "timeout"
        code = f"def f(x):\n    return x + {i}\n" if i != 3 else f"def f(x):\n    return '{SCRIPT}'\n"
        call = journal.record(LLMCallRecord("m1", f"prompt {i} {SCRIPT}", f"answer {SCRIPT}", 10, 20, 0.01))
        view = archive.record(NewProgram(
            parent.id, i % 2, i, code, "diff", status, score=float(i) if status == "ok" else None,
            metrics={"score": float(i)} if status == "ok" else {}, artifacts={"log": f"out {SCRIPT}"},
            diff=f"-    return x\n+    return x + {i}", model="m1",
            error=None if status == "ok" else "took too long", llm_call_ids=[call],
        ))
        if status == "ok":
            parent = view
        if i == 3:
            ids["script"] = view.id
    ids["best"] = parent.id
    ids["run"] = run.id
    db.set_run_status(run.id, "finished")
    db.close()
    return ids


def build_migrating_run(url: str, candidates: int = 60, islands: int = 3) -> dict[str, Any]:
    """A run whose islands trade elites often, whose code grows (so the adaptive feature axes
    re-bin) and whose scores repeat (so ties must be broken); returns the live archive's
    own view of the end state, taken before it is closed."""
    db = ProgramDatabase(url)
    settings = ArchiveSettings(num_islands=islands, migration_interval=1, migration_rate=0.5)
    run = db.create_run("migrating", "toy", {"archive": settings.model_dump()}, seed=1)
    archive = db.archive(run.id, settings, seed=1)
    archive.record(NewProgram(None, 0, 0, "def f(x):\n    return x\n", "seed", "ok", score=0.0))
    for step in range(candidates):
        sample = archive.sample()
        failed = step % 7 == 6
        archive.record(NewProgram(
            sample.parent.id, sample.island, sample.generation,
            sample.parent.code + f"    y{step} = {step}\n" * (1 + step % 3), "diff", "error" if failed else "ok",
            score=None if failed else float((step * 37) % 11), error="ValueError: bad" if failed else None,
        ))
    state = {"archive": archive.state(), "best": archive.best().id, "counts": archive.counts(), "run": run.id}
    archive.close()
    db.set_run_status(run.id, "finished")
    db.close()
    return state


@pytest.fixture(scope="module")
def migrating(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], RunReader]:
    url = f"sqlite:///{tmp_path_factory.mktemp('migrating') / 'runs.db'}"
    state = build_migrating_run(url)
    return url, state, RunReader(ProgramDatabase(url))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'runs.db'}"
    return url, build_run(url, 12)


@contextmanager
def serving(url: str) -> Iterator[str]:
    """The UI over the database at ``url`` on a free local port; yields its base address."""
    server = uvicorn.Server(uvicorn.Config(create_app(RunReader(ProgramDatabase(url))), host="127.0.0.1",
                                           port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def served(demo_run: tuple[str, dict[str, int]]) -> Iterator[tuple[str, dict[str, int]]]:
    url, ids = demo_run
    with serving(url) as base:
        yield base, ids


@pytest.fixture
def serve() -> Any:
    return serving


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def artifacts_dir() -> Path:
    path = Path("test-artifacts/web")
    path.mkdir(parents=True, exist_ok=True)
    return path

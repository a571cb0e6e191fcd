"""A small run built through the public database API, served on a free local port."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import uvicorn

from database import ArchiveSettings, LLMCallRecord, NewProgram, ProgramDatabase
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
    parent = seed
    for i in range(1, candidates + 1):
        status = "ok" if i % 4 else "timeout"
        code = f"def f(x):\n    return x + {i}\n" if i != 3 else f"def f(x):\n    return '{SCRIPT}'\n"
        call = archive.record_llm_call(LLMCallRecord("m1", f"prompt {i} {SCRIPT}", f"answer {SCRIPT}", 10, 20, 0.01))
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'runs.db'}"
    ids = build_run(url, 12)
    server = uvicorn.Server(uvicorn.Config(create_app(RunReader(ProgramDatabase(url))), host="127.0.0.1",
                                           port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}", ids
    server.should_exit = True
    thread.join(10)


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

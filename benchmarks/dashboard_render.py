"""Time to load a 10,000-program run's pages in headless chromium until they are drawn:
the dashboard (charts and the replayed MAP-Elites grids) and the population tree; and the
server's time for the program table sorted by score.

Run: python benchmarks/dashboard_render.py [--programs 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.sync_api import sync_playwright

from evolve.database import ArchiveSettings, LLMCallRecord, NewProgram, ProgramDatabase
from evolve.database.call_journal import CallJournal
from evolve.web.app import create_app
from evolve.web.reader import RunReader

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STATUSES = ["ok"] * 7 + ["invalid", "error", "timeout"]


def build(url: str, programs: int) -> int:
    """A synthetic run: four islands, a mix of failures, one model call per candidate."""
    rng = random.Random(0)
    db = ProgramDatabase(url)
    settings = ArchiveSettings(num_islands=4)
    run = db.create_run("bench", "synthetic", {"archive": settings.model_dump()}, seed=0)
    archive = db.archive(run.id, settings, seed=0)
    seed = archive.record(NewProgram(None, 0, 0, "def f(x):\n    return x\n", "seed", "ok", score=0.0))
    parents = [seed.id]
    journal = CallJournal(db.engine, run.id)
    generation = {seed.id: 0}
    for i in range(1, programs):
        status = rng.choice(STATUSES)
        call = journal.record(LLMCallRecord(rng.choice(["a", "b"]), "prompt", "answer", 900, 300, 0.002))
        code = f"def f(x):\n    return x * {i} + {rng.random():.6f}\n" + "    # pad\n" * rng.randrange(40)
        parent = rng.choice(parents[-50:])
        view = archive.record(NewProgram(
            parent, i % 4, generation[parent] + 1, code, "diff", status,
            score=rng.gauss(i / programs, 0.1) if status == "ok" else None,
            error=None if status == "ok" else "failed", model="a", llm_call_ids=[call],
        ))
        if status == "ok":
            parents.append(view.id)
            generation[view.id] = view.generation
    db.set_run_status(run.id, "finished")
    db.close()
    return run.id


PAGES = [("the dashboard", "/run/{run}"), ("the tree", "/run/{run}/tree"),
         ("the program table by score", "/run/{run}/programs?sort=score&order=desc")]
DRAWN = [("dashboard", "/run/{run}", "body[data-charts-drawn=true]", "evolveChartsDrawnAt"),
         ("tree", "/run/{run}/tree", "body[data-tree-drawn=true]", "evolveTreeDrawnAt")]


def load(browser: Any, name: str, url: str, drawn: str, mark: str, shot: Path | None) -> float:
    """Seconds from navigation to the page's own drawn mark."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    t = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(drawn)
    elapsed = time.perf_counter() - t
    draw_ms = page.evaluate(f"window.{mark}")
    if shot is not None:
        page.screenshot(path=str(shot / f"{name}.png"), full_page=True)
    page.close()
    print(f"  {name}: drawn in {elapsed:.2f} s (navigation start to drawn: {draw_ms:.0f} ms)")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--programs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--screenshots", type=Path, help="folder to save a screenshot of each page in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        t = time.perf_counter()
        run_id = build(url, args.programs)
        print(f"built {args.programs} programs in {time.perf_counter() - t:.1f} s")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(RunReader(ProgramDatabase(url))), host="127.0.0.1",
                                               port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        for name, path in PAGES:
            fetch = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                httpx.get(base + path.format(run=run_id), timeout=60).raise_for_status()
                fetch.append(time.perf_counter() - t)
            print(f"server renders {name} in {statistics.median(fetch):.2f} s (median)")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name, path, drawn, mark in DRAWN:
                times = [load(browser, name, base + path.format(run=run_id), drawn, mark, args.screenshots)
                         for _ in range(args.repeats)]
                print(f"{name}: median {statistics.median(times):.2f} s over {len(times)} loads, min {min(times):.2f} s")
            browser.close()
        server.should_exit = True


if __name__ == "__main__":
    main()

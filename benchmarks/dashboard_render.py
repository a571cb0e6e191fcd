"""Time to load a 10,000-program run's dashboard in headless chromium until its charts are drawn.

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

import httpx
import uvicorn
from playwright.sync_api import sync_playwright

from database import ArchiveSettings, LLMCallRecord, NewProgram, ProgramDatabase
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
    for i in range(1, programs):
        status = rng.choice(STATUSES)
        call = archive.record_llm_call(LLMCallRecord(rng.choice(["a", "b"]), "prompt", "answer", 900, 300, 0.002))
        code = f"def f(x):\n    return x * {i} + {rng.random():.6f}\n" + "    # pad\n" * rng.randrange(40)
        view = archive.record(NewProgram(
            rng.choice(parents[-50:]), i % 4, i, code, "diff", status,
            score=rng.gauss(i / programs, 0.1) if status == "ok" else None,
            error=None if status == "ok" else "failed", model="a", llm_call_ids=[call],
        ))
        if status == "ok":
            parents.append(view.id)
    db.set_run_status(run.id, "finished")
    db.close()
    return run.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--programs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
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
        fetch = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            httpx.get(f"http://127.0.0.1:{port}/run/{run_id}", timeout=60).raise_for_status()
            fetch.append(time.perf_counter() - t)
        print(f"server renders the page in {statistics.median(fetch):.2f} s (median)")
        times = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(args.repeats):
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                t = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/run/{run_id}")
                page.wait_for_selector("body[data-charts-drawn=true]")
                times.append(time.perf_counter() - t)
                draw_ms = page.evaluate("window.evolveChartsDrawnAt")
                page.close()
                print(f"dashboard drawn in {times[-1]:.2f} s (navigation start to charts drawn: {draw_ms:.0f} ms)")
            browser.close()
        server.should_exit = True
        print(f"median {statistics.median(times):.2f} s over {len(times)} loads, min {min(times):.2f} s")


if __name__ == "__main__":
    main()

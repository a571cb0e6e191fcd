"""Per-candidate harness overhead of the sandbox: fork server vs a cold subprocess, and via Ray.

Overhead is everything but the evaluator's own work: the evaluator below times itself and
returns that, and the benchmark subtracts it from the wall time the caller sees. The
evaluator imports numpy, as a simulator would, so a cold start pays for that import.

    python benchmarks/sandbox_overhead.py [--n 200] [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evolve.evaluators.pool import EvaluationPool  # noqa: E402
from evolve.evaluators.problem import load_problem  # noqa: E402
from evolve.evaluators.sandbox import Sandbox  # noqa: E402

EVALUATOR = """\
import time
import numpy
from evolve.evaluators.contract import load_program


def evaluate(program_path, split="train"):
    started = time.perf_counter()
    value = load_program(program_path).solve(numpy.arange(4))
    return {"score": float(value), "evaluate_s": time.perf_counter() - started}
"""
CHANNEL_EVALUATOR = """\
import time


def evaluate(candidate, split="train"):
    started = time.perf_counter()
    value = candidate.call("solve", [0, 1, 2, 3])
    return {"score": float(value), "evaluate_s": time.perf_counter() - started}
"""
CHANNEL_SEED = "# EVOLVE-BLOCK-START\ndef solve(x):\n    return sum(x)\n# EVOLVE-BLOCK-END\n"
SEED = "# EVOLVE-BLOCK-START\ndef solve(x):\n    return x.sum()\n# EVOLVE-BLOCK-END\n"
COLD = """\
import json, sys, os
sys.path.insert(0, sys.argv[1])
os.chdir(sys.argv[1])
import evaluate
print(json.dumps(evaluate.evaluate(sys.argv[2])))
"""
DOCS = ROOT / "docs" / "benchmarks.md"


def make_problem(directory: Path, channel: bool = False):
    """The in-process problem, or (``channel``) its twin whose candidate runs in a process of its own."""
    (directory / "seed.py").write_text(CHANNEL_SEED if channel else SEED)
    (directory / "evaluate.py").write_text(CHANNEL_EVALUATOR if channel else EVALUATOR)
    spec = {"description": "overhead benchmark", "limits": {"timeout_s": 10}}
    if channel:
        spec.update(scoring="channel", candidate={"packages": ["numpy"]})
    (directory / "problem.yaml").write_text(yaml.safe_dump(spec))
    return load_problem(directory)


def summarise(overheads_s: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in overheads_s)
    return {"median_ms": statistics.median(ms), "p90_ms": ms[int(0.9 * (len(ms) - 1))], "n": len(ms)}


def bench_fork_server(problem, n: int) -> tuple[dict[str, float], float, bool]:
    started = time.perf_counter()
    sandbox = Sandbox.for_problem(problem, problem.root)
    sandbox.start()
    startup = time.perf_counter() - started
    overheads = []
    with sandbox:
        for _ in range(n):
            t0 = time.perf_counter()
            outcome = sandbox.run("full", problem.seed_code, "train")
            wall = time.perf_counter() - t0
            assert outcome.status == "ok", outcome
            overheads.append(wall - outcome.metrics["evaluate_s"])
    return summarise(overheads), startup, sandbox.bwrap


def bench_cold(problem, n: int) -> dict[str, float]:
    overheads = []
    with tempfile.TemporaryDirectory() as work:
        program = Path(work) / "seed.py"
        program.write_text(SEED)
        for _ in range(n):
            t0 = time.perf_counter()
            run = subprocess.run([sys.executable, "-c", COLD, str(problem.root), str(program)],
                                 capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t0
            overheads.append(wall - yaml.safe_load(run.stdout)["evaluate_s"])
    return summarise(overheads)


def bench_pool(problem, n: int) -> dict[str, float]:
    pool = EvaluationPool(problem, slots=1)
    overheads = []
    try:
        async def sequential():
            for _ in range(n):
                t0 = time.perf_counter()
                result = await pool.evaluate(SEED)
                wall = time.perf_counter() - t0
                assert result.status == "ok", result
                overheads.append(wall - result.metrics["evaluate_s"])

        asyncio.run(sequential())
    finally:
        pool.close()
    return summarise(overheads)


def markdown(rows: list[tuple[str, dict[str, float]]], startup_s: float, bwrap: bool) -> str:
    lines = [
        "## Sandbox",
        "",
        "Per-candidate harness overhead (wall time seen by the caller minus the evaluator's own",
        "work), trivial evaluator that imports numpy, one evaluation at a time.",
        f"`python benchmarks/sandbox_overhead.py --write-docs` on {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs "
        f"(load average {os.getloadavg()[0]:.1f} when it ran), bubblewrap {'on' if bwrap else 'off'}.",
        "",
        "| path | n | median ms | p90 ms |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {name} | {r['n']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} |" for name, r in rows]
    lines += ["", f"Fork server start (bubblewrap, interpreter, evaluator import), paid once per slot: "
              f"{startup_s * 1000:.0f} ms. Goal: median overhead at most 20 ms.", ""]
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\n"
    start = text.find("## Sandbox")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="evaluations per path")
    parser.add_argument("--write-docs", action="store_true", help="replace the Sandbox section of docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        problem = make_problem(Path(directory))
        fork, startup, bwrap = bench_fork_server(problem, args.n)
        channel_dir = Path(directory) / "channel"
        channel_dir.mkdir()
        channel, _, _ = bench_fork_server(make_problem(channel_dir, channel=True), args.n)
        rows = [("fork server, scoring: in_process (evaluators.sandbox)", fork),
                ("two fork servers, scoring: channel (candidate in its own process; one call)", channel),
                ("EvaluationPool on local Ray, 1 slot", bench_pool(problem, args.n)),
                ("cold subprocess per candidate", bench_cold(problem, args.n))]
    section = markdown(rows, startup, bwrap)
    print(section)
    if args.write_docs:
        write_section(section)


if __name__ == "__main__":
    main()

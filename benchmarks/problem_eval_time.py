"""Seed evaluation time per problem: one full train evaluation on one core, in the sandbox.

Each problem's sandbox (the scorer's fork server and, on the channel, the candidate's) is
started in a fresh interpreter pinned to CPU 0 (start-up not timed), and its seed is
evaluated on the train split as a run evaluates it: both processes, the channel, the
confinement. The first call is the figure that counts: every candidate's evaluation is a
first call of a freshly forked pair. Goal: at most 2 s
(3 s for llm_serving). Problems that need a GPU are listed with the reason and not timed.

    python benchmarks/problem_eval_time.py [--repeats 3] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docs_section import machine_line, write_section  # noqa: E402

from evolve.evaluators.problem import Problem, list_problems  # noqa: E402

GOALS_S = {"llm_serving": 3.0}
DEFAULT_GOAL_S = 2.0
TIMEOUT_S = 300

DRIVER = """\
import json, os, sys, time
os.sched_setaffinity(0, {0})
root, program = sys.argv[1:3]
sys.path[:0] = [sys.argv[3]]
from evolve.evaluators.problem import load_problem
from evolve.evaluators.sandbox import Sandbox
problem = load_problem(root)
code = open(program).read()
started = time.perf_counter()
with Sandbox.for_problem(problem, problem.root) as sandbox:
    imported = time.perf_counter()
    first = sandbox.run("full", code, "train")
    done = time.perf_counter()
    sandbox.run("full", code, "train")
    again = time.perf_counter()
print("RESULT " + json.dumps({"import_s": imported - started, "first_s": done - imported,
                              "second_s": again - done, "score": first.score, "status": first.status}))
"""


class EvaluationFailed(RuntimeError):
    """A seed's evaluation raised or printed no result; the message holds its output."""


def time_seed(problem: Problem) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [sys.executable, "-c", DRIVER, str(problem.root), str(problem.program_path), str(ROOT)],
            cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S,
            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise EvaluationFailed(f"{problem.name}: seed evaluation failed:\n{(done.stdout + done.stderr)[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def median_run(problem: Problem, repeats: int) -> dict[str, float]:
    """The fresh-interpreter run with the median first evaluation, plus the slowest first evaluation."""
    runs = sorted((time_seed(problem) for _ in range(repeats)), key=lambda r: r["first_s"])
    return {**runs[(len(runs) - 1) // 2], "slowest_first_s": runs[-1]["first_s"]}


def measure(repeats: int) -> tuple[list[tuple[Problem, dict[str, float]]], list[tuple[Problem, str]]]:
    timed, skipped = [], []
    for problem in list_problems():
        if problem.limits.gpus > 0:
            skipped.append((problem, f"needs a CUDA GPU (limits.gpus = {problem.limits.gpus:g}): the score is "
                                     "a timed kernel speed-up, and without a GPU the timing stage is 'unavailable'"))
            continue
        result = median_run(problem, repeats)
        timed.append((problem, result))
        print(f"{problem.name}: {result['first_s']:.3f} s", flush=True)
    return timed, skipped


def table(timed: list[tuple[Problem, dict[str, float]]], skipped: list[tuple[Problem, str]]) -> str:
    lines = ["| problem | seed train score | import s | first evaluation s | slowest first s | second evaluation s | "
             "goal s | first / goal | verdict |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for problem, r in timed:
        goal = GOALS_S.get(problem.name, DEFAULT_GOAL_S)
        score = "-" if r["score"] is None else f"{r['score']:.6g}"
        lines.append(f"| {problem.name} | {score} | {r['import_s']:.3f} | {r['first_s']:.3f} | "
                     f"{r['slowest_first_s']:.3f} | {r['second_s']:.3f} | "
                     f"{goal:g} | {r['first_s'] / goal:.2f} | {'within' if r['first_s'] <= goal else 'OVER'} |")
    for problem, reason in skipped:
        lines.append(f"| {problem.name} | not timed: {reason} | | | | | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh interpreters per problem; the median is shown")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    timed, skipped = measure(args.repeats)
    text = table(timed, skipped)
    print(text)
    if args.write_docs:
        write_section("Problem evaluation time", f"""
One full train evaluation of each problem's seed, in process, in a fresh interpreter
pinned to CPU 0 (`os.sched_setaffinity`, numeric libraries at one thread), evaluate.py
imported by path. "First evaluation" is what each candidate of a run pays (the fork server
forks after the import); the second call is shown for comparison. Each problem is run in
{args.repeats} fresh interpreters; the median run is shown, with the slowest first
evaluation beside it. Goal: at most 2 s per evaluation, 3 s for llm_serving.
`python benchmarks/problem_eval_time.py --repeats {args.repeats} --write-docs`

{machine_line()}

{text}
""")


if __name__ == "__main__":
    main()

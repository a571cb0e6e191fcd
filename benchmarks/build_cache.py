"""Compiled candidates: what a build costs per candidate, and what the build cache saves.

For each tool chain, runs a problem's quick stage in one sandbox on N distinct offline
mutants of its seed (each a cache miss: built once) and then on the same N again (each a
hit), and reports the build time of the misses and the stage's wall time in both rounds.
C++ is bin_packing_cpp (g++ -O2); Rust is a small line-server problem written here (rustc -O),
as no bundled problem is in Rust.

    python benchmarks/build_cache.py [--n 10] [--write-docs]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from benchmarks.docs_section import machine_line, write_section
from evolve.evaluators.problem import Problem, load_problem
from evolve.evaluators.sandbox import Sandbox
from evolve.offline import OfflineMutator
from tests.support.compiled_problems import compiled_problem_yaml

RUST_PROBLEM = {
    "problem.yaml": compiled_problem_yaml("clamp_rust", "Answer each integer clamped to [LOW, HIGH].", "rust",
                                          {"timeout_s": 60, "memory_mb": 1024, "max_procs": 16}),
    "evaluate.py": '''def evaluate(candidate, split="train"):
    values = list(range(-50, 150))
    answers = candidate.call("stdio", "".join(f"{v}\\n" for v in values)).split()
    return {"score": sum(int(a) == min(max(v, 0), 100) for a, v in zip(answers, values)) / len(values)}


evaluate_quick = evaluate
''',
    "seed.rs": """use std::io::{self, BufRead, Write};

// EVOLVE-BLOCK-START
const LOW: i64 = 0;
const HIGH: i64 = 100;

fn answer(v: i64) -> i64 {
    if v < LOW { LOW } else if v > HIGH { HIGH } else { v * 1 + 0 }
}
// EVOLVE-BLOCK-END

fn main() {
    let mut out = io::stdout();
    for line in io::stdin().lock().lines() {
        let v: i64 = line.unwrap().trim().parse().unwrap();
        writeln!(out, "{}", answer(v)).unwrap();
        out.flush().unwrap();
    }
}
""",
}


def _mutants(seed_code: str, n: int) -> list[str]:
    mutator, found, seed = OfflineMutator(), [], 0
    while len(found) < n:
        child = mutator.mutate(seed_code, [], seed).code
        seed += 1
        if child and child not in found:
            found.append(child)
    return found


def _round(sandbox: Sandbox, programs: list[str]) -> tuple[list[float], list[float], int]:
    walls, builds, hits = [], [], 0
    for code in programs:
        started = time.perf_counter()
        outcome = sandbox.run("quick", code, "train")
        walls.append(time.perf_counter() - started)
        if outcome.build is None:
            continue  # did not build: a compile error is not a cache entry
        hits += outcome.build["cached"]
        if not outcome.build["cached"]:
            builds.append(outcome.build["build_s"])
    return walls, builds, hits


def _ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.0f}" if values else "-"


def _rows(label: str, problem: Problem, n: int) -> list[str]:
    programs = _mutants(problem.seed_code, n)
    with Sandbox.for_problem(problem, problem.root) as sandbox:
        cold_walls, builds, cold_hits = _round(sandbox, programs)
        warm_walls, _, warm_hits = _round(sandbox, programs)
    return [f"| {label} | first (new sources) | {n} | {len(builds)} | {cold_hits} | {_ms(builds)} | {_ms(cold_walls)} |",
            f"| {label} | second (same sources) | {n} | 0 | {warm_hits} | - | {_ms(warm_walls)} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10, help="distinct candidates per tool chain")
    parser.add_argument("--write-docs", action="store_true", help="replace the Build cache section of docs/benchmarks.md")
    args = parser.parse_args()
    rows = _rows("bin_packing_cpp, g++ -O2", load_problem("bin_packing_cpp"), args.n)
    if shutil.which("rustc", path="/usr/bin"):
        with tempfile.TemporaryDirectory() as folder:
            for name, text in RUST_PROBLEM.items():
                (Path(folder) / name).write_text(text)
            rows += _rows("clamp_rust (here), rustc -O", load_problem(folder), args.n)
    body = (
        "Each problem's quick stage in one sandbox, on "
        f"{args.n} distinct offline mutants of its seed, then on the same {args.n} again "
        "(bin_packing_cpp's quick stage packs 2 train instances; clamp_rust answers 200 lines). "
        "`python benchmarks/build_cache.py --write-docs`. " + machine_line() + "\n\n"
        "| problem, build | round | candidates | built | cache hits | median build ms | median stage wall ms |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
    print(body)
    if args.write_docs:
        write_section("Build cache (compiled candidates)", body)


if __name__ == "__main__":
    main()

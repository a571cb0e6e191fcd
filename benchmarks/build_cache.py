"""Compiled candidates: what a build costs per candidate, and what the build cache saves.

Runs bin_packing_cpp's quick stage in one sandbox on N distinct offline mutants of the
seed (each a cache miss: built once) and then on the same N again (each a hit), and
reports the build time of the misses and the stage's wall time in both rounds.

    python benchmarks/build_cache.py [--n 10] [--write-docs]
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.docs_section import machine_line, write_section
from evolve.evaluators.problem import load_problem
from evolve.evaluators.sandbox import Sandbox
from evolve.offline import OfflineMutator


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10, help="distinct candidates")
    parser.add_argument("--write-docs", action="store_true", help="replace the Build cache section of docs/benchmarks.md")
    args = parser.parse_args()
    problem = load_problem("bin_packing_cpp")
    programs = _mutants(problem.seed_code, args.n)
    with Sandbox.for_problem(problem, problem.root) as sandbox:
        cold_walls, builds, cold_hits = _round(sandbox, programs)
        warm_walls, _, warm_hits = _round(sandbox, programs)
    built = len(builds)
    body = (
        "bin_packing_cpp's quick stage (2 train instances) in one sandbox, on "
        f"{args.n} distinct offline mutants of the seed, then on the same {args.n} again. "
        "`python benchmarks/build_cache.py --write-docs`. " + machine_line() + "\n\n"
        "| round | candidates | built | cache hits | median build ms | median stage wall ms |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"| first (new sources) | {args.n} | {built} | {cold_hits} | {_ms(builds)} | {_ms(cold_walls)} |\n"
        f"| second (same sources) | {args.n} | 0 | {warm_hits} | - | {_ms(warm_walls)} |\n"
    )
    print(body)
    if args.write_docs:
        write_section("Build cache (compiled candidates)", body)


if __name__ == "__main__":
    main()

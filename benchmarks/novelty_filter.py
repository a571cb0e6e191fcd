"""Novelty filter: the evaluations the local measure saves, and what it does to the search.

Each problem is evolved with the offline mutator for N candidates, once with the filter
off and once with ``archive.novelty_threshold`` at each given value, over several run
seeds; one sandbox, one candidate in flight, so every run is reproducible. Reported per
arm, as mean and standard deviation over the seeds: evaluations made, the share the filter
saved (too_similar rows), the best score after N candidates, and the best score after E
evaluations, E being the filtered run's evaluation count (so the two arms are compared at
equal evaluation cost).

    python benchmarks/novelty_filter.py [--problems bin_packing llm_serving] [--seeds 0 1 2]
        [--candidates 16] [--thresholds 0.9] [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docs_section import machine_line, write_section  # noqa: E402

from evolve.config import build_config  # noqa: E402
from evolve.database import ProgramDatabase  # noqa: E402
from evolve.database.queries import export_programs  # noqa: E402
from evolve.engine import Engine  # noqa: E402
from evolve.evaluators.bundle import pack_problem, unpack_problem  # noqa: E402
from evolve.evaluators.cascade import run_cascade  # noqa: E402
from evolve.evaluators.problem import Problem, load_problem  # noqa: E402
from evolve.evaluators.sandbox import Sandbox  # noqa: E402
from evolve.offline import OfflineMutator  # noqa: E402


class SandboxPool:
    """The pool's contract over one warm sandbox: evaluations one at a time, counted."""

    def __init__(self, problem: Problem) -> None:
        self.sandbox = Sandbox.for_problem(problem, unpack_problem(*pack_problem(problem.root)))
        self.sandbox.start()
        self.threshold = problem.cascade_threshold
        self.lock = threading.Lock()

    def _run(self, code: str, split: str):  # noqa: ANN202
        with self.lock:
            return run_cascade(self.sandbox, code, split, self.threshold)

    async def evaluate(self, code: str, split: str = "train"):  # noqa: ANN201
        return await asyncio.to_thread(self._run, code, split)

    def close(self) -> None:
        self.sandbox.close()


@dataclass
class RunResult:
    evaluations: int  # candidates evaluated (the seed not counted)
    filtered: int
    best: float
    best_after: list[float]  # best score after each evaluation (index 0: the seed)


def one_run(problem: Problem, pool: SandboxPool, folder: Path, seed: int, candidates: int,
            threshold: float | None) -> RunResult:
    db = ProgramDatabase(f"sqlite:///{folder}/runs.db")
    archive_settings = {"num_islands": 2, "novelty_threshold": threshold}
    config = build_config(problem_overrides=problem.evolve, cli_overrides={
        "iterations": candidates, "max_in_flight": 1, "seed": seed, "archive": archive_settings,
        "evaluation": {"test_top_k": 0}})
    run = db.create_run(None, problem.name, config.model_dump(mode="json"), seed)
    archive = db.archive(run.id, config.archive, config.seed)
    asyncio.run(Engine(problem=problem, config=config, archive=archive, mutator=OfflineMutator(), pool=pool).run())
    archive.close()
    rows = [row for row in export_programs(db, run.id) if row["origin"] != "migrant"]
    db.close()
    best, trace, evaluations, filtered = float("-inf"), [], 0, 0
    for row in rows:
        if row["status"] == "too_similar":
            filtered += 1
            continue
        if row["status"] in ("duplicate", "edit_failed"):
            continue
        if row["origin"] != "seed":
            evaluations += 1
        if row["status"] == "ok" and row["score"] is not None:
            best = max(best, row["score"])
        trace.append(best)
    return RunResult(evaluations, filtered, best, trace)


def spread(values: list[float], digits: int = 4) -> str:
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}g} ± {sd:.2g}"


def measure(name: str, seeds: list[int], candidates: int, thresholds: list[float]) -> tuple[list[str], str | None]:
    """The table rows of one problem, and a note when its best never moved (then the score
    columns cannot show an effect of the filter either way)."""
    problem = load_problem(name)
    pool = SandboxPool(problem)
    rows = []
    try:
        with tempfile.TemporaryDirectory(dir=ROOT / "runs") as tmp:
            runs: dict[float | None, list[RunResult]] = {}
            for threshold in [None, *thresholds]:
                for seed in seeds:
                    folder = Path(tmp) / f"{threshold}-{seed}"
                    folder.mkdir()
                    started = time.perf_counter()
                    result = one_run(problem, pool, folder, seed, candidates, threshold)
                    runs.setdefault(threshold, []).append(result)
                    print(f"{name} threshold={threshold} seed={seed}: {result.evaluations} evaluations, "
                          f"{result.filtered} filtered, best {result.best:.6g} ({time.perf_counter() - started:.0f} s)",
                          flush=True)
    finally:
        pool.close()
    off = runs[None]
    for threshold, results in runs.items():
        saved = [r.filtered / candidates for r in results]
        at_equal = [base.best_after[min(len(r.best_after), len(base.best_after)) - 1] for r, base in zip(results, off)]
        rows.append(f"| {name} | {'off' if threshold is None else f'{threshold:g}'} | {len(results)} | "
                    f"{spread([r.evaluations for r in results], 3)} | {spread(saved, 2)} | "
                    f"{spread([r.best for r in results], 6)} | {spread(at_equal, 6)} |")
    still = all(r.best == r.best_after[0] for results in runs.values() for r in results)
    note = (f"On {name} the best never left the seed's score within {candidates} candidates in any run, so its "
            "score columns cannot show an effect of the filter either way." if still else None)
    return rows, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=["bin_packing", "llm_serving"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.9])
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    lines = ["| problem | threshold | runs | evaluations | share saved | best after N candidates | "
             "off arm's best after as many evaluations |", "| --- | --- | --- | --- | --- | --- | --- |"]
    notes = []
    for name in args.problems:
        rows, note = measure(name, args.seeds, args.candidates, args.thresholds)
        lines += rows
        notes += [note] if note else []
    text = "\n".join(lines) + ("\n\n" + " ".join(notes) if notes else "")
    print(text)
    if args.write_docs:
        command = (f"python benchmarks/novelty_filter.py --problems {' '.join(args.problems)} --seeds "
                   f"{' '.join(map(str, args.seeds))} --candidates {args.candidates} --thresholds "
                   f"{' '.join(f'{t:g}' for t in args.thresholds)} --write-docs")
        write_section("Novelty filter", f"""
The local novelty filter (MinHash of the token 5-grams of the EVOLVE-BLOCK regions, no
model) on runs of the offline mutator: N = {args.candidates} candidates per run, 2 islands, one
candidate in flight, run seeds {', '.join(map(str, args.seeds))}; mean ± standard deviation over the seeds.
"evaluations" counts the candidates that reached the sandbox, "share saved" the
candidates recorded as too_similar instead. The last column is the filter-off run of the
same seed, read at the filtered run's number of evaluations: the two arms at equal
evaluation cost.
`{command}`

{machine_line()}

{text}
""")


if __name__ == "__main__":
    main()

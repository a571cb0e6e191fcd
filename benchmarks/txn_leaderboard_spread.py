"""The spread of the ADRS leaderboard's txn_scheduling searches over random seeds.

The leaderboard seeds nothing but its human-SOTA program, so each published makespan of
GEPA, OpenEvolve and LEVI is one draw of a random search. `--split leaderboard` seeds with
42, as the human-SOTA submission does, and so reproduces one draw; this script runs each
published program with other seeds, through the same interface (one `get_random_costs()`
call, the problem's `txn_simulator` and `workloads` modules) and re-prices its schedules
with the scorer's own cost model, to show whether the published figure lies in the spread.

    export ADRS_LEADERBOARD_DIR=/path/to/ADRS-Leaderboard
    python benchmarks/txn_leaderboard_spread.py [--seeds 1 2 3] [--solutions gepa openevolve] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_section import machine_line, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "txn_scheduling"
PUBLISHED = {"LEVI": 229, "gepa": 236, "openevolve": 236}
TIMEOUT_S = 1800

# Runs in a fresh interpreter whose path holds the problem folder, as the candidate's does.
DRIVER = """
import importlib.util, json, random, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("candidate", sys.argv[2])
program = importlib.util.module_from_spec(spec); sys.modules["candidate"] = program
spec.loader.exec_module(program)
seed = int(sys.argv[3]); random.seed(seed); np.random.seed(seed)
started = time.perf_counter()
claimed, schedules, _ = program.get_random_costs()
seconds = time.perf_counter() - started
import evaluate
workloads = evaluate.split_workloads("leaderboard")
makespans = [evaluate.replay(w, evaluate.validated_schedule((claimed, list(s)), w)[1])[0]
             for w, s in zip(workloads, schedules)]
print("RESULT " + json.dumps({"total": sum(makespans), "claimed": float(claimed), "seconds": seconds}))
"""


def run_once(solution: Path, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run([sys.executable, "-c", DRIVER, str(PROBLEM), str(solution), str(seed)], cwd=cwd,
                              capture_output=True, text=True, timeout=TIMEOUT_S,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{solution} with seed {seed} failed:\n{(done.stdout + done.stderr)[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def table(results: dict[str, list[tuple[int, dict[str, float]]]]) -> str:
    lines = ["| solution | published | seeds | makespans (sorted) | median | published within the spread | "
             "seconds per run (median) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, runs in results.items():
        totals = sorted(r["total"] for _, r in runs)
        seconds = statistics.median(r["seconds"] for _, r in runs)
        inside = "yes" if totals[0] <= PUBLISHED[name] <= totals[-1] else "no"
        lines.append(f"| {name} | {PUBLISHED[name]} | {', '.join(str(s) for s, _ in runs)} | "
                     f"{', '.join(str(t) for t in totals)} | {statistics.median(totals):g} | {inside} | {seconds:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--solutions", nargs="+", default=["gepa", "openevolve"], choices=sorted(PUBLISHED))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    base = os.environ.get("ADRS_LEADERBOARD_DIR")
    if not base:
        raise SystemExit("set ADRS_LEADERBOARD_DIR to a clone of https://github.com/UCB-ADRS/ADRS-Leaderboard")
    results: dict[str, list[tuple[int, dict[str, float]]]] = {}
    for name in args.solutions:
        solution = Path(base) / "solutions" / "txn_scheduling" / name / "resources" / "solution.py"
        for seed in args.seeds:
            run = run_once(solution, seed)
            print(f"{name} seed {seed}: {run['total']} in {run['seconds']:.0f} s", flush=True)
            results.setdefault(name, []).append((seed, run))
    text = table(results)
    print(text)
    if args.write_docs:
        seeds = " ".join(str(s) for s in args.seeds)
        write_section(f"txn_scheduling: the leaderboard's searches over seeds ({', '.join(args.solutions)})", f"""
Each published search of the ADRS leaderboard's txn_scheduling run once per seed through
the leaderboard's interface (one `get_random_costs()` call, `random` and `numpy.random`
seeded), its three schedules re-priced with the scorer's cost model. The leaderboard seeds
none of these programs, so its figure is one draw; `--split leaderboard` reproduces the
draw of seed 42. LEVI's annealing stops by the clock, so its spread also depends on the
machine's speed.

{text}

{machine_line()}

```
python benchmarks/txn_leaderboard_spread.py --seeds {seeds} --solutions {' '.join(args.solutions)} --write-docs
```
""")


if __name__ == "__main__":
    main()

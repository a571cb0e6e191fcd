"""Pipeline efficiency: how close each framework gets to the throughput its settings allow.

A model that answers after L = 1 s and an evaluator that takes E = 0.5 s
(benchmarks/problems/half_second), K candidates in flight on W = K evaluation slots. No
framework can finish more than min(K / (L + E), W / E) candidates per second; efficiency is
the steady rate achieved divided by that limit. The goal for evolve is at least 0.95.

    python benchmarks/pipeline_efficiency.py [--n 120] [--in-flight 4 8] [--write-docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docs_section import machine_line, write_section  # noqa: E402
from evolve_side import run_evolve  # noqa: E402
from openevolve_side import run_openevolve  # noqa: E402
from run_measure import RunMeasure, pipeline_limit  # noqa: E402
from scripted_server import scripted_server  # noqa: E402

PROBLEM = ROOT / "benchmarks" / "problems" / "half_second"
EVALUATION_S = 0.5
GOAL = 0.95


def table(rows: list[tuple[int, RunMeasure, RunMeasure]], latency_s: float) -> str:
    lines = ["| K | W | framework | candidates | candidates/s steady | limit | efficiency | outcomes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for k, ours, theirs in rows:
        limit = pipeline_limit(k, latency_s, EVALUATION_S, k)
        for m in (ours, theirs):
            lines.append(f"| {k} | {k} | {m.framework} | {m.candidates} | {m.steady_rate:.2f} | {limit:.2f} | "
                         f"{m.steady_rate / limit:.3f} | {m.status_text()} |")
    lines += ["", "| K | evolve efficiency | goal 0.95 | evolve / OpenEvolve |", "| --- | --- | --- | --- |"]
    for k, ours, theirs in rows:
        efficiency = ours.steady_rate / pipeline_limit(k, latency_s, EVALUATION_S, k)
        lines.append(f"| {k} | {efficiency:.3f} | {'met' if efficiency >= GOAL else 'missed'} | "
                     f"{ours.steady_rate / theirs.steady_rate:.2f} |")
    return "\n".join(lines)


def verdict(rows: list[tuple[int, RunMeasure, RunMeasure]], latency_s: float) -> str:
    """The comparison in words, computed, so a re-run cannot leave a stale claim behind."""
    sentences = []
    for k, ours, theirs in rows:
        limit = pipeline_limit(k, latency_s, EVALUATION_S, k)
        mine, other = ours.steady_rate / limit, theirs.steady_rate / limit
        closer = "evolve" if mine >= other else "OpenEvolve"
        sentences.append(f"At K = {k} evolve {'meets' if mine >= GOAL else 'misses'} the goal ({mine:.3f}); "
                         f"{closer} is closer to the limit ({mine:.3f} against {other:.3f}).")
    return " ".join(sentences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=120, help="candidates per run")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[4, 8], help="K values to run")
    parser.add_argument("--latency", type=float, default=1.0, help="model latency L, seconds")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows: list[tuple[int, RunMeasure, RunMeasure]] = []
    with tempfile.TemporaryDirectory(dir=ROOT / "runs") as tmp, scripted_server(args.latency) as api_base:
        for k in args.in_flight:
            ours, _ = run_evolve(PROBLEM, api_base, args.n, k, k, Path(tmp) / f"evolve-k{k}")
            theirs = run_openevolve(PROBLEM, api_base, args.n, k, Path(tmp) / f"openevolve-k{k}")
            rows.append((k, ours, theirs))
            print(f"K={k}: evolve {ours.steady_rate:.2f}/s, OpenEvolve {theirs.steady_rate:.2f}/s", flush=True)
    text = table(rows, args.latency) + "\n\n" + verdict(rows, args.latency)
    print(text)
    if args.write_docs:
        k_flags = " ".join(map(str, args.in_flight))
        write_section("Pipeline efficiency", f"""
Model latency L = {args.latency:g} s (scripted server), evaluation E = {EVALUATION_S} s
(benchmarks/problems/half_second: the evaluator sleeps, so the 2 cores are not the
limit), K in flight on W = K evaluation slots, {args.n} candidates per run (fewer than
the overhead benchmark's 500, to stay within minutes). Limit = min(K / (L + E), W / E);
efficiency = steady rate / limit, the steady rate counted from the K-th finished
candidate to the last. OpenEvolve 0.4.0 runs K worker processes
(`evaluator.parallel_evaluations: K`), each making one candidate at a time. What
evolve loses to the limit is its per-candidate overhead (see Framework overhead: model
client, sandbox, Ray), paid on top of L + E by every candidate.
`python benchmarks/pipeline_efficiency.py --n {args.n} --in-flight {k_flags} --write-docs`

{machine_line()}

{text}
""")


if __name__ == "__main__":
    main()

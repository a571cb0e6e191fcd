"""Ray scale-out: the same run on one Ray node and on a two-node Ray cluster on loopback.

Both set-ups have the same 2 CPUs in all (one node with 2, or two nodes with 1 each, started
with ``ray start --head`` and ``ray start --address`` on 127.0.0.1), so the ratio shows
what spreading the evaluation slots over nodes costs, not extra hardware. The cluster uses
its own ports and temporary directory (tests/support/loopback_cluster.py, shared with the
two-node test) and is stopped by signalling exactly its own processes.

    python benchmarks/ray_scaleout.py [--n 120] [--n-instant 300] [--repeats 2] [--write-docs]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docs_section import machine_line, write_section  # noqa: E402
from evolve_side import run_evolve  # noqa: E402
from run_measure import RunMeasure, pipeline_limit  # noqa: E402
from scripted_server import scripted_server  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "support"))
from loopback_cluster import RAY_ENV, two_node_cluster  # noqa: E402


@dataclass
class Workload:
    """One run, repeated on both set-ups."""

    name: str
    problem: Path
    latency_s: float
    evaluation_s: float
    in_flight: int
    n: int

    @property
    def limit(self) -> float:
        return pipeline_limit(self.in_flight, self.latency_s, self.evaluation_s, self.in_flight)


def run_all(workloads: list[Workload], workdir: Path, address: str | None, repeats: int) -> list[list[RunMeasure]]:
    """Every workload ``repeats`` times on one set-up; one list of runs per workload."""
    where = "two" if address else "one"
    measures: list[list[RunMeasure]] = []
    for index, w in enumerate(workloads):
        runs = []
        with scripted_server(w.latency_s) as api_base:
            for repeat in range(repeats):
                m, _ = run_evolve(w.problem, api_base, w.n, w.in_flight, w.in_flight,
                                  workdir / f"w{index}-{where}-{repeat}", ray_address=address,
                                  env=RAY_ENV if address else None)
                print(f"{w.name}, {where} node(s) #{repeat + 1}: {m.steady_rate:.2f}/s", flush=True)
                runs.append(m)
        measures.append(runs)
    return measures


def middle(runs: list[RunMeasure]) -> RunMeasure:
    """The run with the median steady rate (the lower of the two middle ones for an even count)."""
    return sorted(runs, key=lambda m: m.steady_rate)[(len(runs) - 1) // 2]


def table(workloads: list[Workload], one: list[list[RunMeasure]], two: list[list[RunMeasure]]) -> str:
    lines = ["| workload | set-up | candidates | candidates/s steady | all repeats | rate / limit | wall s | outcomes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for w, a, b in zip(workloads, one, two):
        for name, runs in (("one node, 2 CPUs", a), ("two nodes, 1 CPU each", b)):
            m = middle(runs)
            share = "-" if math.isinf(w.limit) else f"{m.steady_rate / w.limit:.3f}"
            rates = ", ".join(f"{r.steady_rate:.2f}" for r in runs)
            lines.append(f"| {w.name} | {name} | {m.candidates} | {m.steady_rate:.2f} | {rates} | {share} | "
                         f"{m.wall_s:.1f} | {m.status_text()} |")
    lines += ["", "| workload | two nodes / one node, steady rate of the median runs |", "| --- | --- |"]
    for w, a, b in zip(workloads, one, two):
        lines.append(f"| {w.name} | {middle(b).steady_rate / middle(a).steady_rate:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=120, help="candidates per run of the pipeline workload")
    parser.add_argument("--n-instant", type=int, default=300, help="candidates per run of the instant workload")
    parser.add_argument("--repeats", type=int, default=2, help="runs per workload and set-up; the median run is shown")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    problems = ROOT / "benchmarks" / "problems"
    workloads = [
        Workload("pipeline: L = 1 s, E = 0.5 s, K = W = 8", problems / "half_second", 1.0, 0.5, 8, args.n),
        Workload("overhead: L = 0, E = 0, K = W = 4", problems / "instant", 0.0, 0.0, 4, args.n_instant),
    ]
    with tempfile.TemporaryDirectory(dir=ROOT / "runs") as tmp:
        one = run_all(workloads, Path(tmp), None, args.repeats)
        with two_node_cluster() as (address, _env):
            two = run_all(workloads, Path(tmp), address, args.repeats)
    text = table(workloads, one, two)
    print(text)
    if args.write_docs:
        write_section("Ray scale-out", f"""
Two runs, each once on a private one-node Ray with 2 CPUs and once with `--ray-address`
on a two-node cluster started on loopback (`ray start --head` and `ray start --address`,
1 CPU each; slots take 0.25 CPU, so the slots must be split between the nodes). The
pipeline run is the pipeline-efficiency set-up ({args.n} candidates; "rate / limit" is
its efficiency against min(K / (L + E), W / E)); the overhead run uses the instant model
and evaluator ({args.n_instant} candidates, no such limit), where any cost of remote actor
calls shows at once. Same hardware in both set-ups: the ratio is what spreading over
nodes costs, not a speed-up; a real second machine adds its cores on top. A ratio well
above 1 is therefore not capacity gained. Possible causes, not separated here: the
one-node runs start their Ray inside the run, and its agents may still take CPU in a
short run's first seconds, while the cluster was already up; and run-to-run variation on
this shared machine.
Each run is repeated {args.repeats} times per set-up; the median run is shown (the lower
middle one for an even count), with every repeat's rate beside it.
`python benchmarks/ray_scaleout.py --n {args.n} --n-instant {args.n_instant} --repeats {args.repeats} --write-docs`

{machine_line()}

{text}
""")


if __name__ == "__main__":
    main()

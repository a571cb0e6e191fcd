"""Framework overhead: an instant model and an instant evaluator, so only the framework costs time.

Both frameworks make the same number of candidates on the same problem
(benchmarks/problems/instant, which both run as it is) against the same scripted server,
at K candidates in flight (evolve: -k K with K evaluation slots; OpenEvolve: K worker
processes). evolve's cost per candidate is then split into its parts, from the engine's
timings, the evaluation stages and the LLM call records of the run's database, plus two
micro-benchmarks on the same database: prompt rendering and edit application, and
recording a program.

    python benchmarks/framework_overhead.py [--n 500] [--in-flight 1 4] [--repeats 3] [--write-docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from docs_section import machine_line, write_section  # noqa: E402
from evolve_side import CandidateSplit, candidate_split, run_evolve  # noqa: E402
from openai_server import valid_diff  # noqa: E402
from openevolve_side import run_openevolve  # noqa: E402
from run_measure import RunMeasure  # noqa: E402
from scripted_server import scripted_server  # noqa: E402

from evolve.config import RunConfig  # noqa: E402
from evolve.database import ProgramDatabase  # noqa: E402
from evolve.database.records import NewProgram  # noqa: E402
from evolve.edits import apply_diff  # noqa: E402
from evolve.evaluators.result import StageRecord  # noqa: E402
from evolve.mutation import MutationRequest  # noqa: E402
from evolve.prompts import render_messages  # noqa: E402

PROBLEM = ROOT / "benchmarks" / "problems" / "instant"
MICRO_REPEATS = 200


@dataclass
class MicroTimes:
    render_s: float
    edit_s: float
    record_s: float


def _mean_time(action, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        action()
    return (time.perf_counter() - started) / repeats


def micro_times(db: Path, repeats: int = MICRO_REPEATS) -> MicroTimes:
    """Prompt, edit and record costs on the run's own archive, one at a time, nothing else running."""
    database = ProgramDatabase(f"sqlite:///{db}")
    info = database.open_run("latest")
    config = RunConfig.model_validate(info.config)
    archive = database.archive(info.id, config.archive, config.seed)
    sample = archive.sample()
    request = MutationRequest(
        problem_name="bench_instant", description="benchmark", parent=sample.parent,
        inspirations=sample.inspirations, failures=sample.failures, island=sample.island,
        generation=sample.generation, seed=1, templates_dir=str(PROBLEM),
    )
    messages = render_messages(request, "diff")
    reply = valid_diff(messages, 1)
    render_s = _mean_time(lambda: render_messages(request, "diff"), repeats)
    edit_s = _mean_time(lambda: apply_diff(sample.parent.code, reply), repeats)

    copy = database.create_run("record-bench", info.problem, info.config, info.seed)
    target = database.archive(copy.id, config.archive, config.seed)
    seed = target.record(NewProgram(parent_id=None, island=0, generation=0, code=sample.parent.code,
                                    origin="seed", status="ok", score=sample.parent.score,
                                    metrics=dict(sample.parent.metrics)))
    stages = [StageRecord("full", "ok", 0.01, 0.01)]
    timings = {"select_s": 0.0001, "mutate_s": 0.05, "evaluate_s": 0.05}
    codes = [sample.parent.code.replace("return", f"return {i} * 0 +", 1) for i in range(repeats)]
    started = time.perf_counter()
    for i, code in enumerate(codes):
        target.record(NewProgram(parent_id=seed.id, island=i % config.archive.num_islands, generation=1,
                                 code=code, origin="diff", status="ok", score=float(-i),
                                 metrics={"score": float(-i), "evaluator_s": 0.0003}, diff="-a\n+b\n",
                                 model="openai/bench", stages=stages, timings=timings))
    record_s = (time.perf_counter() - started) / repeats
    return MicroTimes(render_s, edit_s, record_s)


def middle(measures: list[RunMeasure]) -> RunMeasure:
    """The run with the median steady rate: the machine is shared, so single runs wander."""
    return sorted(measures, key=lambda m: m.steady_rate)[(len(measures) - 1) // 2]


def spread(measures: list[RunMeasure]) -> str:
    rates = sorted(m.steady_rate for m in measures)
    return f"{rates[0]:.1f} - {rates[-1]:.1f}"


def rate_table(rows: list[tuple[int, RunMeasure, RunMeasure]], runs: dict[tuple[int, str], list[RunMeasure]]) -> str:
    lines = ["| K | framework | candidates | wall s (start-up included) | candidates/s end to end | "
             "candidates/s steady | steady, all repeats | outcomes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for k, ours, theirs in rows:
        for m in (ours, theirs):
            lines.append(f"| {k} | {m.framework} | {m.candidates} | {m.wall_s:.1f} | {m.end_to_end_rate:.1f} | "
                         f"{m.steady_rate:.1f} | {spread(runs[k, m.framework])} | {m.status_text()} |")
    lines += ["", "| K | evolve / OpenEvolve, steady | evolve / OpenEvolve, end to end |", "| --- | --- | --- |"]
    for k, ours, theirs in rows:
        lines.append(f"| {k} | {ours.steady_rate / theirs.steady_rate:.2f} | "
                     f"{ours.end_to_end_rate / theirs.end_to_end_rate:.2f} |")
    return "\n".join(lines)


def verdict(rows: list[tuple[int, RunMeasure, RunMeasure]], runs: dict[tuple[int, str], list[RunMeasure]]) -> str:
    """The comparison in words, computed, so a re-run cannot leave a stale claim behind.

    Steady rates whose repeat ranges overlap are called on par: the difference is then
    within what the repeats themselves vary by.
    """
    sentences = []
    for k, ours, theirs in rows:
        steady = ours.steady_rate / theirs.steady_rate
        whole = ours.end_to_end_rate / theirs.end_to_end_rate
        mine = [m.steady_rate for m in runs[k, ours.framework]]
        other = [m.steady_rate for m in runs[k, theirs.framework]]
        if min(mine) <= max(other) and min(other) <= max(mine):
            standing = "on par with OpenEvolve in steady state (the repeats' ranges overlap"
        else:
            standing = f"{'faster' if steady >= 1 else 'slower'} than OpenEvolve in steady state ("
            standing += "no overlap between the repeats"
        sentences.append(f"At K = {k} evolve is {standing}; {steady:.2f}x its rate) and "
                         f"{'faster' if whole >= 1 else 'slower'} end to end ({whole:.2f}x), start-up "
                         f"{ours.wall_s - ours.candidates / ours.steady_rate:.0f} s against "
                         f"{theirs.wall_s - theirs.candidates / theirs.steady_rate:.0f} s.")
    return " ".join(sentences)


def split_table(split: CandidateSplit, micro: MicroTimes, rate: float) -> str:
    parts = [
        ("selection (RunArchive.sample)", split.select_s, "engine timings select_s"),
        ("prompt rendering and edit application", split.prompt_and_edit_s,
         f"mutate_s - llm_calls.latency_s; alone: render_messages {micro.render_s * 1000:.2f} ms, "
         f"apply_diff {micro.edit_s * 1000:.2f} ms"),
        ("model call (litellm + HTTP, server answers at once)", split.llm_call_s, "llm_calls.latency_s"),
        ("Ray dispatch and pool", split.pool_s, "evaluate_s - stage wall_s"),
        ("sandbox (fork server, process, limits)", split.sandbox_s, "stage wall_s - evaluator's own time"),
        ("evaluator's own work", split.evaluator_s, "metric evaluator_s"),
        ("database record (RunArchive.record)", micro.record_s, "micro-benchmark on the run's SQLite file"),
    ]
    total = sum(value for _, value, _ in parts)
    wall = 1 / rate
    lines = ["| part | ms per candidate | share of wall | source |", "| --- | --- | --- | --- |"]
    for name, value, source in parts:
        lines.append(f"| {name} | {value * 1000:.2f} | {value / wall:.0%} | {source} |")
    lines.append(f"| engine loop, asyncio, progress display, call records | {(wall - total) * 1000:.2f} | "
                 f"{(wall - total) / wall:.0%} | wall - the parts above |")
    lines.append(f"| wall time per candidate (1 / steady rate) | {wall * 1000:.2f} | 100% | |")
    own = [(name, value) for name, value, _ in parts if not name.startswith(("model call", "evaluator's own"))]
    name, value = max(own, key=lambda item: item[1])
    lines += ["", f"evolve's own largest part is {name}: {value * 1000:.1f} ms of every candidate."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="candidates per run")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4], help="K values to run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per framework and K; the median run is shown")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    runs: dict[tuple[int, str], list[RunMeasure]] = {}
    databases: dict[int, list[Path]] = {}
    rows: list[tuple[int, RunMeasure, RunMeasure]] = []
    with tempfile.TemporaryDirectory(dir=ROOT / "runs") as tmp:
        for k in args.in_flight:
            for repeat in range(args.repeats):
                with scripted_server(0.0) as api_base:  # a fresh server: both see the same sequence of edits
                    ours, db = run_evolve(PROBLEM, api_base, args.n, k, k, Path(tmp) / f"evolve-k{k}-{repeat}")
                with scripted_server(0.0) as api_base:
                    theirs = run_openevolve(PROBLEM, api_base, args.n, k, Path(tmp) / f"openevolve-k{k}-{repeat}")
                runs.setdefault((k, ours.framework), []).append(ours)
                runs.setdefault((k, theirs.framework), []).append(theirs)
                databases.setdefault(k, []).append(db)
                print(f"K={k} #{repeat + 1}: evolve {ours.steady_rate:.1f}/s ({ours.wall_s:.1f} s), "
                      f"OpenEvolve {theirs.steady_rate:.1f}/s ({theirs.wall_s:.1f} s)", flush=True)
            ours, theirs = middle(runs[k, ours.framework]), middle(runs[k, theirs.framework])
            rows.append((k, ours, theirs))
        split_k, split_run = rows[0][0], rows[0][1]
        position = next(i for i, m in enumerate(runs[split_k, split_run.framework]) if m is split_run)
        split_db = databases[split_k][position]
        split, micro = candidate_split(split_db), micro_times(split_db)
    table = rate_table(rows, runs)
    breakdown = split_table(split, micro, split_run.steady_rate)
    print(table, verdict(rows, runs), breakdown, sep="\n\n")
    if args.write_docs:
        write_section("Framework overhead", docs_body(args, table, verdict(rows, runs), breakdown, split_k))


def docs_body(args: argparse.Namespace, table: str, verdict_text: str, breakdown: str, split_k: int) -> str:
    k_flags = " ".join(map(str, args.in_flight))
    return f"""
Instant model (scripted server, valid diffs, no latency), instant evaluator
(benchmarks/problems/instant), {args.n} candidates per run, {args.repeats} runs per framework
and K, alternating, the run with the median steady rate shown; K in flight: evolve with K
evaluation slots (0.25 CPU each) on a private local Ray; OpenEvolve 0.4.0 with
`evaluator.parallel_evaluations: K`. "Steady" counts candidates from the K-th finished one to
the last; "end to end" divides by the whole command's wall time, start-up
(imports, Ray or the process pool, the seed's evaluation) and shutdown included.
`python benchmarks/framework_overhead.py --n {args.n} --in-flight {k_flags} --repeats {args.repeats} --write-docs`

{machine_line()}

{table}

{verdict_text} Start-up is the wall time not explained by the steady rate: imports
(litellm alone takes seconds), a private Ray with its actors and fork servers, and the
seed's evaluation for evolve; a process pool and the seed for OpenEvolve.

evolve's cost per candidate at K = {split_k}, in the median run (medians over the run's scored candidates;
micro-benchmarks alone, after the run: means of {MICRO_REPEATS} calls):

{breakdown}

What differs by design, and costs evolve time here: each evolve candidate runs in a
separate sandboxed process (fork server, rlimits, bubblewrap) on a Ray actor and is written
durably to SQL before it counts; OpenEvolve evaluates in a thread of its worker process
with no isolation and keeps its database in memory (JSON checkpoints every 100
iterations). OpenEvolve is started with its top and diverse programs left out of the
prompt (`num_top_programs: 0`, `num_diverse_programs: 0`), because the scripted server
edits the first program it sees; its prompts are therefore shorter than in normal use.
OpenEvolve's iteration is one worker doing LLM call and evaluation back to back, so its K
is both the number in flight and the number of evaluation slots. evolve does not evaluate
a candidate identical to a program it already has (the "duplicate" outcomes: the
scripted server's edits collide now and then); those candidates skip the sandbox.
"""


if __name__ == "__main__":
    main()

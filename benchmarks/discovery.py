"""A/B harness for the search's mechanisms: best score per candidate and per dollar, with spread.

Each arm is a set of configuration keys (any key of the run configuration, dotted); each
runs R times with seeds 1..R, every run in its own SQLite database under a scratch folder,
through ``evolve run`` exactly as a user starts it. From the databases come the best score
after each candidate and after each dollar spent, as min / median / max over the runs, in
a table, a JSON file and two plots (SVG).

    python benchmarks/discovery.py --problem bin_packing --runs 3 --candidates 40 \\
        --arm base: --arm pareto:archive.pareto_share=0.3

``--model offline`` (the default) uses the offline mutator, which costs nothing: that
checks the harness and the mechanisms that need no model. With a model (a litellm name;
its key in the environment) every candidate is a paid call: see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import yaml

from evolve.config import deep_merge
from evolve.statuses import NOT_CANDIDATES, Status

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from docs_section import machine_line, write_section  # noqa: E402
from spread_plot import Series, svg_plot  # noqa: E402

RUN_TIMEOUT_S = 3600
CANDIDATES = f"origin NOT IN ({', '.join(repr(str(o)) for o in sorted(NOT_CANDIDATES))})"
DOLLAR_POINTS = 20
DOCS_SECTION = "Discovery A/B harness: {problem}"


class HarnessError(RuntimeError):
    """An arm is malformed or one of its runs failed; the message says which and why."""


@dataclass
class Arm:
    name: str
    overrides: dict[str, Any]


@dataclass
class RunCurve:
    """One run: the best score after each candidate, and the dollars spent by then."""

    seed: int
    seed_score: float | None
    best: list[float | None]
    dollars: list[float]
    statuses: dict[str, int]
    wall_s: float


@dataclass
class ArmResult:
    arm: Arm
    runs: list[RunCurve] = field(default_factory=list)


def parse_value(text: str) -> Any:
    """A YAML scalar: numbers, booleans and null as such, anything else as text."""
    return yaml.safe_load(text) if text.strip() else ""


def parse_arm(text: str) -> Arm:
    """``name:key=value,key=value`` with dotted keys (``archive.pareto_share=0.3``)."""
    name, sep, rest = text.partition(":")
    if not sep or not name.strip():
        raise HarnessError(f"arm {text!r} must be NAME:key=value,... (an empty list after the colon is allowed)")
    overrides: dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise HarnessError(f"arm {name!r}: {pair!r} is not key=value")
        *parents, leaf = key.strip().split(".")
        node = overrides
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise HarnessError(f"arm {name!r}: {key!r} sets a key below a value")
        node[leaf] = parse_value(value)
    return Arm(name.strip(), overrides)


def run_config(arm: Arm, model: str, api_base: str | None) -> dict[str, Any]:
    """The arm's keys over the harness's own: no test-split scoring, the chosen model."""
    base: dict[str, Any] = {"evaluation": {"test_top_k": 0}}
    if model != "offline":
        base["llm"] = {"models": [{"name": model, **({"api_base": api_base} if api_base else {})}]}
    return deep_merge(base, arm.overrides)


def read_curve(db: Path, seed: int, wall_s: float) -> RunCurve:
    """Best score so far (the seed's to begin with) and dollars so far, candidate by candidate."""
    with sqlite3.connect(db) as conn:
        seed_score = conn.execute("SELECT score FROM programs WHERE origin = 'seed' ORDER BY id LIMIT 1").fetchone()
        rows = conn.execute(f"SELECT status, score, created_at FROM programs WHERE {CANDIDATES} ORDER BY id").fetchall()
        calls = conn.execute("SELECT cost_usd, created_at FROM llm_calls ORDER BY created_at").fetchall()
    first = best = seed_score[0] if seed_score else None
    bests, dollars, statuses = [], [], Counter(status for status, _, _ in rows)
    spent, next_call = 0.0, 0
    for status, score, created_at in rows:
        if status == Status.OK and score is not None and math.isfinite(score) and (best is None or score > best):
            best = score
        while next_call < len(calls) and calls[next_call][1] <= created_at:
            spent += calls[next_call][0] or 0.0
            next_call += 1
        bests.append(best)
        dollars.append(spent)
    return RunCurve(seed, first, bests, dollars, dict(statuses), wall_s)


def run_once(problem: str, arm: Arm, seed: int, args: argparse.Namespace, scratch: Path) -> RunCurve:
    folder = scratch / arm.name
    folder.mkdir(parents=True, exist_ok=True)
    db, config = folder / f"seed{seed}.db", folder / f"seed{seed}.yaml"
    db.unlink(missing_ok=True)
    config.write_text(yaml.safe_dump(run_config(arm, args.model, args.api_base)))
    command = [sys.executable, "-m", "evolve.cli", "run", problem, "--config", str(config), "--db", f"sqlite:///{db}",
               "-n", str(args.candidates), "-k", str(args.in_flight), "--seed", str(seed), "--name", f"{arm.name}-{seed}"]
    if args.ray_address:
        command += ["--ray-address", args.ray_address]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=os.environ.copy())
    wall = time.perf_counter() - started
    (folder / f"seed{seed}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise HarnessError(f"arm {arm.name!r} seed {seed}: evolve run exited {done.returncode}:\n"
                           f"{(done.stdout + done.stderr)[-2000:]}")
    return read_curve(db, seed, wall)


def spread(values: list[float | None]) -> tuple[float, float, float] | None:
    present = [v for v in values if v is not None]
    return (min(present), median(present), max(present)) if present else None


def best_at_dollars(run: RunCurve, dollars: float) -> float | None:
    """The best score a run had reached before spending more than ``dollars``."""
    reached = [b for b, d in zip(run.best, run.dollars) if d <= dollars + 1e-12]
    return reached[-1] if reached else run.seed_score


def by_candidates(result: ArmResult) -> list[tuple[int, tuple[float, float, float] | None]]:
    length = max((len(r.best) for r in result.runs), default=0)
    return [(i, spread([r.best[min(i, len(r.best)) - 1] if i else r.seed_score for r in result.runs]))
            for i in range(length + 1)]


def by_dollars(result: ArmResult, top: float) -> list[tuple[float, tuple[float, float, float] | None]]:
    grid = [top * k / DOLLAR_POINTS for k in range(DOLLAR_POINTS + 1)]
    return [(d, spread([best_at_dollars(r, d) for r in result.runs])) for d in grid]


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def table(results: list[ArmResult], checkpoints: list[int]) -> str:
    """Markdown: per arm, best score min / median / max at the checkpoints, dollars, statuses."""
    head = ["arm", *[f"best @ {c} (min / median / max)" for c in checkpoints], "$ per candidate", "statuses"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for result in results:
        curve = dict(by_candidates(result))
        cells = [result.arm.name]
        for c in checkpoints:
            s = curve.get(c)
            cells.append(" / ".join(fmt(v) for v in s) if s else "-")
        made = sum(len(r.best) for r in result.runs)
        cost = sum(r.dollars[-1] for r in result.runs if r.dollars)
        cells.append(f"{cost / made:.4f}" if made else "-")
        statuses = sum((Counter(r.statuses) for r in result.runs), Counter())
        cells.append(", ".join(f"{v} {k}" for k, v in statuses.most_common()))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plots(results: list[ArmResult], scratch: Path, problem: str) -> list[Path]:
    candidates = [Series(r.arm.name, [(float(i), s) for i, s in by_candidates(r) if s]) for r in results]
    top = max((run.dollars[-1] for r in results for run in r.runs if run.dollars), default=0.0)
    paths = [scratch / "best_vs_candidates.svg"]
    paths[0].write_text(svg_plot(candidates, f"{problem}: best score by candidates", "candidates", "best score"))
    if top > 0:
        dollars = [Series(r.arm.name, [(d, s) for d, s in by_dollars(r, top) if s]) for r in results]
        paths.append(scratch / "best_vs_dollars.svg")
        paths[1].write_text(svg_plot(dollars, f"{problem}: best score by dollars", "dollars", "best score"))
    return paths


def docs_body(results: list[ArmResult], command: str, candidates: int) -> str:
    """The section of docs/benchmarks.md: what was run, where, and the table."""
    walls = [run.wall_s for r in results for run in r.runs]
    return (
        "Each arm's runs (seeds 1..R, each in its own database) go through `evolve run` as a user starts "
        "them; the table gives the best train score after 0 (the seed), a quarter, half, three quarters and "
        "all of the candidates, as min / median / max over the runs, the dollars per candidate and the "
        f"statuses of all the arm's candidates. One run took {min(walls):.0f}-{max(walls):.0f} s here "
        "(Ray's start and the seed included).\n\n"
        f"`{command}`\n\n{machine_line()}\n\n{table(results, checkpoints_for(candidates))}\n"
    )


def checkpoints_for(candidates: int) -> list[int]:
    """0 (the seed), the quarters and the end."""
    return sorted({0, candidates // 4, candidates // 2, (3 * candidates) // 4, candidates})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", required=True, help="a problem name under problems/ or a path")
    parser.add_argument("--model", default="offline", help="a litellm model name, or offline (the default)")
    parser.add_argument("--api-base", default=None, help="an OpenAI-compatible endpoint for --model")
    parser.add_argument("--runs", type=int, default=3, help="runs per arm, seeds 1..R")
    parser.add_argument("--candidates", type=int, default=40, help="candidates per run")
    parser.add_argument("--in-flight", type=int, default=1, help="candidates in flight (1: reproducible runs)")
    parser.add_argument("--ray-address", default=None, help="a warm Ray cluster for every run (saves its start-up)")
    parser.add_argument("--arm", action="append", required=True, help="NAME:key=value,... ; repeat per arm")
    parser.add_argument("--scratch", type=Path, default=ROOT / "runs" / "discovery",
                        help="folder for the runs' databases, logs, table and plots")
    parser.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args(argv)
    arms = [parse_arm(text) for text in args.arm]
    if len({a.name for a in arms}) != len(arms):
        raise HarnessError("arm names must differ: each names its folder under --scratch")
    args.scratch.mkdir(parents=True, exist_ok=True)
    results = []
    for arm in arms:
        result = ArmResult(arm)
        for seed in range(1, args.runs + 1):
            result.runs.append(run_once(args.problem, arm, seed, args, args.scratch))
            print(f"{arm.name} seed {seed}: best {fmt(result.runs[-1].best[-1] if result.runs[-1].best else None)} "
                  f"in {result.runs[-1].wall_s:.0f} s", file=sys.stderr)
        results.append(result)
    text = table(results, checkpoints_for(args.candidates))
    (args.scratch / "table.md").write_text(text + "\n")
    (args.scratch / "results.json").write_text(json.dumps(
        {"problem": args.problem, "model": args.model, "candidates": args.candidates,
         "arms": [{"arm": asdict(r.arm), "runs": [asdict(run) for run in r.runs]} for r in results]}, indent=1))
    drawn = plots(results, args.scratch, args.problem)
    if args.write_docs:
        command = "python benchmarks/discovery.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section(DOCS_SECTION.format(problem=args.problem), docs_body(results, command, args.candidates))
    print(text)
    print("wrote " + ", ".join(str(p) for p in [args.scratch / "table.md", args.scratch / "results.json", *drawn]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)

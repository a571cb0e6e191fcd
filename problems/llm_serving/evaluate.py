"""Scores a serving scheduler by its SLO attainment on simulated bursty multi-tenant workloads.

The candidate module must define a class `Scheduler` (constructed without arguments,
once per scenario) with `route(request, cluster) -> int` and
`priority(request, instance, now) -> float` (lower is admitted first). Score = mean over
the split's scenarios of the fraction of requests whose TTFT and TPOT are both within
their tenant's targets.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluators.contract import InvalidProgram, load_program
from servesim.latency import InstanceConfig, llama2_7b_a100
from servesim.metrics import Report, summarize
from servesim.simulator import SchedulerError, Simulator
from servesim.workload import Scenario, generate, scenario_from_dict

DATA = Path(__file__).parent / "data"
TIME_BUDGET_S = 15.0  # per scenario; the seed needs well under a second


def load_scenarios(split: str) -> list[Scenario]:
    table = json.loads((DATA / "scenarios.json").read_text())
    if split not in table:
        raise ValueError(f"unknown split {split!r}; scenarios.json has {sorted(table)}")
    return [scenario_from_dict(entry) for entry in table[split]]


def _scheduler_class(program_path: str) -> type:
    module = load_program(program_path)
    cls = getattr(module, "Scheduler", None)
    if not isinstance(cls, type):
        raise InvalidProgram("the program must define a class Scheduler")
    for method in ("route", "priority"):
        if not callable(getattr(cls, method, None)):
            raise InvalidProgram(f"Scheduler must define {method}()")
    return cls


def simulate(scheduler_cls: type, scenario: Scenario, oracle_lengths: bool = False) -> Report:
    """Run one scenario under a fresh scheduler; scheduler faults become InvalidProgram."""
    config = InstanceConfig()
    conversations = generate(scenario, config.max_context)
    try:
        scheduler = scheduler_cls()
    except Exception as exc:
        raise InvalidProgram(f"Scheduler() raised {type(exc).__name__}: {exc}") from exc
    sim = Simulator(
        conversations, scenario.tenants, scenario.num_instances, scheduler, llama2_7b_a100(), config,
        oracle_lengths=oracle_lengths, time_budget_s=TIME_BUDGET_S,
    )
    try:
        result = sim.run()
    except SchedulerError as exc:
        raise InvalidProgram(f"scenario {scenario.name}: {exc}") from exc
    return summarize(result, scenario.tenants, window_s=scenario.duration_s)


def _artifacts(scenarios: list[Scenario], reports: list[Report]) -> dict[str, str]:
    lines = []
    misses = []
    for scenario, rep in zip(scenarios, reports):
        lines.append(
            f"{scenario.name}: SLO {rep.slo_attainment:.3f}, TTFT p50/p99 {rep.ttft_p50:.2f}/{rep.ttft_p99:.2f} s, "
            f"TPOT p99 {rep.tpot_p99 * 1000:.0f} ms, e2e p50/p99 {rep.e2e_p50:.1f}/{rep.e2e_p99:.1f} s, "
            f"Jain {rep.jain_fairness:.3f}, prefix hits {rep.prefix_hit_rate:.1%}, preemptions {rep.preemptions}"
        )
        for t in rep.tenants:
            lines.append(
                f"  {t.name:10s} n={t.requests:5d} SLO {t.slo_attainment:.3f} TTFT p50/p99 {t.ttft_p50:.2f}/"
                f"{t.ttft_p99:.2f} s TPOT p99 {t.tpot_p99 * 1000:.0f} ms service share {t.normalised_service:.2f}"
            )
            misses.append((t.requests - round(t.slo_attainment * t.requests), scenario.name, t))
    misses.sort(key=lambda m: -m[0])
    where = [
        f"{name}/{t.name}: {count} of {t.requests} requests missed "
        f"({t.ttft_misses} on TTFT > target, {t.tpot_misses} on TPOT > target)"
        for count, name, t in misses
        if count
    ]
    return {
        "per_scenario": "\n".join(lines),
        "slo_misses": "\n".join(where) if where else "every request met its SLO",
    }


def _evaluate(program_path: str, scenarios: list[Scenario], oracle_lengths: bool) -> dict:
    cls = _scheduler_class(program_path)
    reports = [simulate(cls, scenario, oracle_lengths) for scenario in scenarios]
    averaged = (
        "slo_attainment", "ttft_p99", "tpot_p99", "e2e_p50", "e2e_p99", "mean_e2e", "throughput_tok_s",
        "jain_fairness", "prefix_hit_rate",
    )
    metrics = {name: float(np.mean([getattr(r, name) for r in reports])) for name in averaged}
    return {
        "score": metrics["slo_attainment"],
        **metrics,
        "preemptions": float(sum(r.preemptions for r in reports)),
        "artifacts": _artifacts(scenarios, reports),
    }


def evaluate(program_path: str, split: str = "train", oracle_lengths: bool = False) -> dict:
    """`oracle_lengths` replaces the predicted output length by the true one (the SJF bound)."""
    return _evaluate(program_path, load_scenarios(split), oracle_lengths)


def evaluate_quick(program_path: str, split: str = "train") -> dict:
    """Cascade stage: the split's first scenario only."""
    return _evaluate(program_path, load_scenarios(split)[:1], False)

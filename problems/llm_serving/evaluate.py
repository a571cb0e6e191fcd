"""Scores a serving scheduler by its SLO attainment on simulated bursty multi-tenant workloads.

The candidate module must define a class `Scheduler` (constructed without arguments,
once per scenario) with `route(request, cluster) -> int` and
`priority(request, instance, now) -> float` (lower is admitted first). Score = mean over
the split's scenarios of the fraction of requests whose TTFT and TPOT are both within
their tenant's targets.

The program runs in its own process (`scoring: channel`); the simulator, the workload and
the metrics run here. Each scenario has a `servesim.hosted.HostedScheduler` in the
candidate's process, and the split's scenarios advance in lock-step: one round trip
carries the pending decision of every scenario still running.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from servesim.latency import InstanceConfig, llama2_7b_a100
from servesim.lockstep import run_lockstep
from servesim.metrics import Report, summarize
from servesim.simulator import Decision, SchedulerError, Simulator, Steps
from servesim.workload import Scenario, generate, scenario_from_dict

from evolve.evaluators.contract import CandidateFailed, InvalidProgram

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate, Remote

DATA = Path(__file__).parent / "data"
TIME_BUDGET_S = 15.0  # per scenario; the seed needs well under a second
HOSTED = "servesim.hosted:HostedScheduler"
FATAL_KINDS = frozenset({"exited", "MemoryError", "EFBIG"})  # left to the framework: killed or error
FAULT_CHARS = 2000


def load_scenarios(split: str) -> list[Scenario]:
    table = json.loads((DATA / "scenarios.json").read_text())
    if split not in table:
        raise ValueError(f"unknown split {split!r}; scenarios.json has {sorted(table)}")
    return [scenario_from_dict(entry) for entry in table[split]]


def _fault(exc: CandidateFailed, what: str) -> Exception:
    """The scheduler's own exception as a rejection with its traceback; a dead process stays as it is."""
    if exc.kind in FATAL_KINDS:
        return exc
    return InvalidProgram(f"{what} raised {exc.kind}:\n{str(exc)[-FAULT_CHARS:]}")


def _schedulers(candidate: Candidate, count: int) -> list[Remote]:
    if not candidate.has("Scheduler"):
        raise InvalidProgram("the program must define a class Scheduler")
    try:
        return [candidate.new(HOSTED) for _ in range(count)]
    except CandidateFailed as exc:
        raise _fault(exc, "Scheduler()") from None


def _labelled(steps: Steps, scenario: Scenario) -> Steps:
    try:
        return (yield from steps)
    except SchedulerError as exc:
        raise InvalidProgram(f"scenario {scenario.name}: {exc}") from exc


def simulate(candidate: Candidate, scenarios: list[Scenario], oracle_lengths: bool = False) -> list[Report]:
    """Every scenario under its own fresh Scheduler, in lock-step; scheduler faults become InvalidProgram."""
    config = InstanceConfig()
    budget = TIME_BUDGET_S * len(scenarios)
    runs = [
        _labelled(Simulator(generate(scenario, config.max_context), scenario.tenants, scenario.num_instances, None,
                            llama2_7b_a100(), config, oracle_lengths=oracle_lengths, time_budget_s=budget).steps(),
                  scenario)
        for scenario in scenarios
    ]
    remotes = _schedulers(candidate, len(scenarios))

    def answer(batch: list[tuple[int, Decision]]) -> list:
        try:
            return candidate.call_methods([(remotes[i], method, args) for i, (method, args) in batch])
        except CandidateFailed as exc:
            raise _fault(exc, "the scheduler") from None

    results = run_lockstep(runs, answer)
    return [summarize(result, scenario.tenants, window_s=scenario.duration_s)
            for scenario, result in zip(scenarios, results)]


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


def _evaluate(candidate: Candidate, scenarios: list[Scenario], oracle_lengths: bool) -> dict:
    reports = simulate(candidate, scenarios, oracle_lengths)
    averaged = (
        "slo_attainment", "ttft_p99", "tpot_p99", "e2e_p50", "e2e_p99", "mean_e2e", "throughput_tok_s",
        "jain_fairness", "prefix_hit_rate",
    )
    metrics = {name: float(np.mean([getattr(r, name) for r in reports])) for name in averaged}
    return {
        "score": metrics["slo_attainment"],
        **metrics,
        "preemptions": float(sum(r.preemptions for r in reports)),
        "instances": {scenario.name: float(r.slo_attainment) for scenario, r in zip(scenarios, reports)},
        "artifacts": _artifacts(scenarios, reports),
    }


def evaluate(candidate: Candidate, split: str = "train", oracle_lengths: bool = False) -> dict:
    """`oracle_lengths` replaces the predicted output length by the true one (the SJF bound)."""
    return _evaluate(candidate, load_scenarios(split), oracle_lengths)


def evaluate_quick(candidate: Candidate, split: str = "train") -> dict:
    """Cascade stage: the split's first scenario only."""
    return _evaluate(candidate, load_scenarios(split)[:1], False)

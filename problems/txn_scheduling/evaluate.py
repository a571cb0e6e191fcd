"""Scores a transaction scheduler by the total makespan of its schedules.

Train: the three published workloads. Test: six fresh workloads drawn with
`txn_generator` to the same three shapes (seeds below), so a scheduler that memorised the
published orderings does not look better than it is. The program runs in its own process
(`scoring: channel`): each workload goes to it as operation strings under a neutral name,
`scheduling_call` builds the Workload there, and the makespan is always recomputed here
from the returned order with this process's cost model; the program's own figure is only
reported. The wall time is measured here, around each call.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from txn_generator import GENERATORS
from txn_workload import Workload, load_workloads

from evolve.evaluators.contract import InvalidProgram, wall_time_limit

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate

DATA = Path(__file__).parent / "data"
NUM_SEQS = 10
TEST_SEEDS = {"hot_keys": (2001, 2002), "warehouse": (2003, 2004), "read_then_write": (2005, 2006)}
# leaderboard: the train workloads through the ADRS leaderboard's interface and budget
# (`get_random_costs()`, 600 s in its submission spec), for its published programs.
TIME_BUDGET_S = {"train": 10.0, "test": 20.0, "leaderboard": 600.0}
LEADERBOARD_SHIFT = 0.10
CANDIDATE_CALL = "scheduling_call:best_schedule"
LEADERBOARD_CALL = "scheduling_call:leaderboard_costs"


class ScheduleTimeout(InvalidProgram):
    """The scheduler used up the split's wall-time budget."""


class WorkloadResult(NamedTuple):
    workload: Workload
    makespan: int
    identity: int
    claimed: object
    wall_s: float
    blocking: Counter


def split_workloads(split: str) -> list[Workload]:
    if split in ("train", "leaderboard"):
        return load_workloads(DATA / "workloads.json")
    if split == "test":
        return [
            Workload(GENERATORS[shape](seed), f"{shape}_seed{seed}")
            for shape, seeds in TEST_SEEDS.items()
            for seed in seeds
        ]
    raise ValueError(f"unknown split {split!r}; use 'train', 'test' or 'leaderboard'")


def _over_budget(what: str, seconds: float) -> ScheduleTimeout:
    return ScheduleTimeout(f"{what} exceeded its {seconds:.1f} s wall-time budget")


def validated_schedule(answer: object, workload: Workload) -> tuple[object, list[int]]:
    """A (makespan, schedule) pair whose schedule is a permutation of all ids, or InvalidProgram."""
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise InvalidProgram(f"{workload.name}: get_best_schedule must return (makespan, schedule)")
    claimed, schedule = answer
    try:
        order = list(schedule)
    except TypeError:
        raise InvalidProgram(f"{workload.name}: the schedule is not a sequence") from None
    if not all(isinstance(t, int | np.integer) and not isinstance(t, bool) for t in order):
        raise InvalidProgram(f"{workload.name}: schedule entries must be integer transaction ids")
    order = [int(t) for t in order]
    if sorted(order) != list(range(workload.num_txns)):
        missing = sorted(set(range(workload.num_txns)) - set(order))[:5]
        raise InvalidProgram(
            f"{workload.name}: the schedule must be a permutation of 0..{workload.num_txns - 1} "
            f"(got {len(order)} ids, {len(order) - len(set(order))} repeated, missing e.g. {missing})"
        )
    return claimed, order


def replay(workload: Workload, order: list[int]) -> tuple[int, Counter]:
    """Trusted makespan, and which keys delayed how many transactions."""
    schedule = workload.start()
    blocking: Counter = Counter()
    for txn in order:
        key = schedule.binding_key(txn)
        if key is not None:
            blocking[key] += 1
        schedule.append(txn)
    return schedule.makespan, blocking


def leaderboard_scale(makespan: int, identity: int, bound: int) -> float:
    """The published 0-100 scale: 0 at the identity order, 100 at bound + 10 % of the gap."""
    target = bound + LEADERBOARD_SHIFT * (identity - bound)
    return float(min(100.0, max(0.0, 100.0 * (identity - makespan) / (identity - target))))


def _run(candidate: Candidate, workloads: list[Workload], budget_s: float) -> list[WorkloadResult]:
    """One call per workload (a handful, each seconds of search at most), timed here."""
    if not candidate.has("get_best_schedule"):
        raise InvalidProgram("the program must define get_best_schedule(workload, num_seqs)")
    deadline = time.perf_counter() + budget_s
    results = []
    for index, workload in enumerate(workloads):
        texts = [_texts(workload, t) for t in range(workload.num_txns)]
        started = time.perf_counter()
        with wall_time_limit(deadline - started, _over_budget(f"get_best_schedule on {workload.name}", deadline - started)):
            answer = candidate.call(CANDIDATE_CALL, texts, f"workload_{index + 1}", index, NUM_SEQS)
        wall_s = time.perf_counter() - started
        claimed, order = validated_schedule(answer, workload)
        makespan, blocking = replay(workload, order)
        identity = workload.get_opt_seq_cost(range(workload.num_txns))
        results.append(WorkloadResult(workload, makespan, identity, claimed, wall_s, blocking))
    return results


def _run_leaderboard(candidate: Candidate, workloads: list[Workload],
                     budget_s: float) -> tuple[list[WorkloadResult], object]:
    """One get_random_costs() call for all workloads, as the leaderboard makes it; its schedules
    are checked and re-priced here (the leaderboard trusts the makespan the program reports)."""
    if not candidate.has("get_random_costs"):
        raise InvalidProgram("the leaderboard split needs get_random_costs() -> (makespan, schedules, seconds)")
    started = time.perf_counter()
    with wall_time_limit(budget_s, _over_budget("get_random_costs", budget_s)):
        answer = candidate.call(LEADERBOARD_CALL)
    wall_s = time.perf_counter() - started
    if answer is None or answer[1] is None or len(answer[1]) != len(workloads):
        raise InvalidProgram(f"get_random_costs must return (makespan, [{len(workloads)} schedules], seconds)")
    claimed, orders = answer
    results = []
    for workload, order in zip(workloads, orders):
        _, order = validated_schedule((claimed, order), workload)
        makespan, blocking = replay(workload, order)
        identity = workload.get_opt_seq_cost(range(workload.num_txns))
        results.append(WorkloadResult(workload, makespan, identity, makespan, wall_s / len(workloads), blocking))
    return results, claimed


def _texts(workload: Workload, txn: int) -> list[str]:
    """A transaction's op strings: what the candidate's side builds its Workload from."""
    ops = ["*"] * workload.lengths[txn]
    for kind, key, position, _ in workload.txns[txn]:
        ops[position - 1] = f"{kind}-{key}"
    return ops


def _artifacts(results: list[WorkloadResult]) -> dict[str, str]:
    lines = ["workload: makespan (identity order, lower bound), seconds, most-delaying keys"]
    for r in sorted(results, key=lambda r: -(r.makespan / r.workload.lower_bound)):
        keys = ", ".join(f"key {k} x{n}" for k, n in r.blocking.most_common(3)) or "none"
        note = "" if r.claimed == r.makespan else f"; the program claimed {r.claimed!r}"
        lines.append(
            f"  {r.workload.name}: {r.makespan} ({r.identity}, {r.workload.lower_bound}), "
            f"{r.wall_s:.2f} s, {keys}{note}"
        )
    return {"workloads": "\n".join(lines)}


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    """score = -(total makespan over the split's workloads)."""
    workloads, budget = split_workloads(split), TIME_BUDGET_S[split]
    if split == "leaderboard":
        results, claimed = _run_leaderboard(candidate, workloads, budget)
    else:
        results, claimed = _run(candidate, workloads, budget), None
    total = sum(r.makespan for r in results)
    identity = sum(r.identity for r in results)
    bound = sum(r.workload.lower_bound for r in results)
    metrics = {
        "score": -float(total),
        "total_makespan": float(total),
        "identity_makespan": float(identity),
        "lower_bound": float(bound),
        "leaderboard_scale": leaderboard_scale(total, identity, bound),
        "wall_s": float(sum(r.wall_s for r in results)),
    }
    for r in results:
        metrics[f"makespan_{r.workload.name}"] = float(r.makespan)
    metrics["instances"] = {r.workload.name: -float(r.makespan) for r in results}
    metrics["artifacts"] = _artifacts(results)
    if claimed is not None:
        metrics["artifacts"]["claimed"] = f"the program reported a total makespan of {claimed!r}; recomputed here: {total}"
    return metrics

"""Scores a model-placement program by the mean max KV-cache pressure over a split's cases.

Test is the leaderboard's 50 cases (seed 42); train is 50 cases drawn the same way from
seed 2024. The program runs in its own process (`scoring: channel`): each case goes to it
as plain numbers, `model_placement` builds the leaderboard's Model objects there, and the
answer comes back as model indices per GPU. Every index and GPU id is checked here and the
pressures are recomputed from this process's copy of the case. The leaderboard skips a case
that fails or times out and averages the rest; here any such case rejects the program.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from kvpr import (
    GPU_MEM_SIZE,
    Case,
    balanced_bound,
    generate_cases,
    gpu_pressure,
    leaderboard_case_score,
    max_pressure,
    round_robin,
)

from evolve.evaluators.contract import InvalidProgram, wall_time_limit

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate

SPLIT_SEEDS = {"train": 2024, "test": 42}
CASE_BUDGET_S = 10.0  # the leaderboard's limit per case
SPLIT_BUDGET_S = {"train": 30.0, "test": 120.0}
CANDIDATE_CALL = "model_placement:place"


class PlacementTimeout(InvalidProgram):
    """The program used up a case's or the split's wall-time budget."""


class CaseResult(NamedTuple):
    case: Case
    placement: dict[int, list[int]]
    kvpr: float
    baseline: float
    bound: float
    wall_s: float

    @property
    def leaderboard_score(self) -> float:
        return leaderboard_case_score(self.kvpr, self.baseline, self.bound)


def split_cases(split: str) -> list[Case]:
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    return generate_cases(SPLIT_SEEDS[split])


def validated_placement(answer: object, case: Case, where: str) -> dict[int, list[int]]:
    """GPU id -> model indices, every model on exactly one GPU that holds it, or InvalidProgram."""
    if isinstance(answer, str):
        raise InvalidProgram(f"{where}: {answer[:200]}")
    if not isinstance(answer, list) or not all(isinstance(p, list) and len(p) == 2 for p in answer):
        raise InvalidProgram(f"{where}: compute_model_placement must return a dict gpu_id -> list of models")
    placement: dict[int, list[int]] = {}
    for gpu, models in answer:
        if not isinstance(gpu, int) or isinstance(gpu, bool) or not 0 <= gpu < case.gpu_num or gpu in placement:
            raise InvalidProgram(f"{where}: GPU ids must be distinct integers in 0..{case.gpu_num - 1}, got {gpu!r}")
        if not isinstance(models, list) or not all(isinstance(j, int) and not isinstance(j, bool) for j in models):
            raise InvalidProgram(f"{where}: GPU {gpu}: the answer lost its models")
        placement[gpu] = models
    placed = [j for models in placement.values() for j in models]
    count = len(case.sizes)
    if any(not 0 <= j < count for j in placed):
        raise InvalidProgram(f"{where}: placed an object that is not one of the given models (return the objects given)")
    if len(placed) != count or len(set(placed)) != count:
        raise InvalidProgram(f"{where}: every model must be placed exactly once "
                             f"({len(set(placed))} of {count} placed, {len(placed) - len(set(placed))} repeated)")
    for gpu, models in placement.items():
        used = sum(case.sizes[j] for j in models)
        if used > GPU_MEM_SIZE:
            raise InvalidProgram(f"{where}: GPU {gpu} holds {used} GB of models, over its {GPU_MEM_SIZE} GB")
    return placement


def run_cases(candidate: Candidate, cases: list[Case], split_budget_s: float) -> list[CaseResult]:
    """One call per case, each timed here against the case's and the split's budget."""
    if not candidate.has("compute_model_placement"):
        raise InvalidProgram("the program must define compute_model_placement(gpu_num, models)")
    deadline = time.perf_counter() + split_budget_s
    results = []
    for index, case in enumerate(cases):
        where = f"case {index} ({case.gpu_num} GPUs)"
        started = time.perf_counter()
        budget = min(CASE_BUDGET_S, deadline - started)
        what = (f"compute_model_placement on {where} took over {CASE_BUDGET_S:.0f} s" if budget == CASE_BUDGET_S
                else f"compute_model_placement used up the split's {split_budget_s:.0f} s by {where}")
        with wall_time_limit(budget, PlacementTimeout(what)):
            answer = candidate.call(CANDIDATE_CALL, case.gpu_num, list(case.sizes), list(case.rates), list(case.slos), index)
        wall_s = time.perf_counter() - started
        placement = validated_placement(answer, case, where)
        results.append(CaseResult(case, placement, max_pressure(case, placement),
                                  max_pressure(case, round_robin(case)), balanced_bound(case), wall_s))
    return results


def _artifacts(results: list[CaseResult]) -> dict[str, str]:
    lines = ["worst cases by max KVPR over the balanced bound: case, GPUs, max KVPR (round robin, bound), "
             "memory on the most pressured GPU, leaderboard score"]
    ranked = sorted(enumerate(results), key=lambda item: -item[1].kvpr / item[1].bound)
    for index, r in ranked[:8]:
        worst = max(r.placement.values(), key=lambda models: gpu_pressure(r.case, models))
        used = sum(r.case.sizes[j] for j in worst)
        lines.append(f"  case {index}: {r.case.gpu_num} GPUs, {r.kvpr:.5f} ({r.baseline:.5f}, {r.bound:.5f}), "
                     f"{used} GB, {r.leaderboard_score:.1f}")
    return {"cases": "\n".join(lines)}


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    """score = -(mean over the cases of the max KVPR); leaderboard_score = the leaderboard's 0-100."""
    results = run_cases(candidate, split_cases(split), SPLIT_BUDGET_S[split])
    kvpr = float(np.mean([r.kvpr for r in results]))
    bound = float(np.mean([r.bound for r in results]))
    metrics = {
        "score": -kvpr,
        "mean_max_kvpr": kvpr,
        "round_robin_kvpr": float(np.mean([r.baseline for r in results])),
        "bound_kvpr": bound,
        "gap_to_bound_pct": 100.0 * (kvpr - bound) / bound,
        "leaderboard_score": float(np.mean([r.leaderboard_score for r in results])),
        "cases_at_bound": float(sum(r.kvpr <= r.bound * (1 + 1e-9) for r in results)),
        "wall_s": float(sum(r.wall_s for r in results)),
    }
    metrics["artifacts"] = _artifacts(results)
    return metrics

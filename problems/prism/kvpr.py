"""PRISM's test cases and KV-cache pressure, on the scorer's side only.

A case is `gpu_num` GPUs of 80 GB and 2 x gpu_num models. The leaderboard draws its 50
cases from numpy's global generator seeded 42, in this order per case: gpu_num in [5, 10),
then for each model its size in [10, 30) GB, request rate in [1, 10) and SLO in [5, 10)
(numpy's half-open `randint`). `RandomState(seed)` yields the same stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

GPU_MEM_SIZE = 80
FULL_GPU_KVPR = 1_000_000.0  # the leaderboard's pressure for a GPU with no memory left
CASES_PER_SPLIT = 50


class Case(NamedTuple):
    gpu_num: int
    sizes: tuple[int, ...]
    rates: tuple[int, ...]
    slos: tuple[int, ...]

    @property
    def weights(self) -> list[float]:
        return [r / s for r, s in zip(self.rates, self.slos)]


def generate_cases(seed: int, count: int = CASES_PER_SPLIT) -> list[Case]:
    """The leaderboard's draw order (seed 42 gives its 50 test cases exactly)."""
    rng = np.random.RandomState(seed)
    cases = []
    for _ in range(count):
        gpu_num = int(rng.randint(5, 10))
        draws = [(int(rng.randint(10, 30)), int(rng.randint(1, 10)), int(rng.randint(5, 10))) for _ in range(2 * gpu_num)]
        sizes, rates, slos = (tuple(column) for column in zip(*draws))
        cases.append(Case(gpu_num, sizes, rates, slos))
    return cases


def gpu_pressure(case: Case, models: Sequence[int]) -> float:
    """KVPR of one GPU: its weighted request rate over its free memory (summed in list order)."""
    used = sum(case.sizes[j] for j in models)
    weighted = sum(case.rates[j] / case.slos[j] for j in models)
    free = GPU_MEM_SIZE - used
    return weighted / free if free > 0 else FULL_GPU_KVPR


def max_pressure(case: Case, placement: dict[int, list[int]]) -> float:
    return max(gpu_pressure(case, models) for models in placement.values())


def round_robin(case: Case) -> dict[int, list[int]]:
    """The leaderboard's 0-point: model j on GPU j mod gpu_num."""
    placement: dict[int, list[int]] = {g: [] for g in range(case.gpu_num)}
    for j in range(len(case.sizes)):
        placement[j % case.gpu_num].append(j)
    return placement


def balanced_bound(case: Case) -> float:
    """The leaderboard's 100-point: all load spread over all free memory at once (a lower bound)."""
    free = case.gpu_num * GPU_MEM_SIZE - sum(case.sizes)
    return sum(case.weights) / free if free > 0 else 0.0


def leaderboard_case_score(kvpr: float, baseline: float, bound: float) -> float:
    """100 x sqrt of the share of the way from round robin to the bound, clamped to [0, 1]."""
    if baseline > bound:
        ratio = min(1.0, max(0.0, (baseline - kvpr) / (baseline - bound)))
        return 100.0 * ratio**0.5
    return 100.0 if kvpr <= bound else 0.0

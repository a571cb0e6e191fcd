"""Online 1-D bin packing with a priority function, as in FunSearch's notebook.

The harness is kept bit-for-bit faithful to the published protocol (n pre-allocated empty
bins, feasible = remaining >= item, argmax with ties to the lowest index) because the
reference numbers are only comparable under exactly that protocol.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evolve.evaluators.contract import InvalidProgram

Priority = Callable[[float, np.ndarray], np.ndarray]

WEIBULL_CAPACITY = 100
WEIBULL_SCALE = 45.0
WEIBULL_SHAPE = 3.0


@dataclass(frozen=True)
class Instance:
    name: str
    items: np.ndarray
    capacity: float

    @property
    def l1_bound(self) -> int:
        """ceil(sum / C): the bound FunSearch measures excess against."""
        return math.ceil(float(self.items.sum()) / self.capacity)


@dataclass(frozen=True)
class Packing:
    instance: Instance
    bins_used: int

    @property
    def excess_pct(self) -> float:
        bound = self.instance.l1_bound
        return 100.0 * (self.bins_used - bound) / bound


class PackingTimeout(InvalidProgram):
    """The priority function is too slow for the evaluation budget."""


def load_dataset(path: Path) -> list[Instance]:
    """Read a `{"capacity": C, "instances": {name: [sizes]}}` file in its stored order."""
    data = json.loads(path.read_text())
    capacity = float(data["capacity"])
    return [
        Instance(name, np.asarray(items, dtype=np.float64), capacity)
        for name, items in data["instances"].items()
    ]


def weibull_instance(name: str, seed: int, num_items: int) -> Instance:
    """FunSearch's Weibull generator: round(45 * Weibull(k=3)) clipped to [1, 100]."""
    rng = np.random.default_rng(seed)
    sizes = np.clip(np.round(WEIBULL_SCALE * rng.weibull(WEIBULL_SHAPE, num_items)), 1, WEIBULL_CAPACITY)
    return Instance(name, sizes.astype(np.float64), float(WEIBULL_CAPACITY))


Request = tuple[float, np.ndarray]
ScoreBatch = Callable[[list[Request]], list[object]]


def _checked_scores(answer: object, feasible: np.ndarray, position: int, name: str) -> np.ndarray:
    try:
        scores = np.asarray(answer)
    except (TypeError, ValueError):
        raise InvalidProgram(f"priority returned {type(answer).__name__} for item {position} of {name}; "
                             "it must return one score per bin") from None
    if scores.shape != feasible.shape:
        raise InvalidProgram(
            f"priority returned shape {scores.shape} for {feasible.size} feasible bins "
            f"(item {position} of {name}); it must return one score per bin"
        )
    if scores.dtype.kind not in "biuf" or not np.isfinite(scores).all():
        raise InvalidProgram(
            f"priority returned non-finite or non-real scores (dtype {scores.dtype}) "
            f"for item {position} of {name}"
        )
    return scores


def pack_lockstep(instances: list[Instance], score_batch: ScoreBatch, deadline: float = math.inf) -> list[Packing]:
    """Place every item of every instance online, one item of each instance per step.

    The candidate sees only the bins that can take the item; ``score_batch`` answers one
    step of all unfinished instances at once (one round trip to the candidate's process).
    `deadline` is a `time.perf_counter()` value; passing it raises PackingTimeout so a
    slow heuristic is rejected with a reason instead of being killed without one.
    """
    remaining = [np.full(len(instance.items), instance.capacity) for instance in instances]
    items = [instance.items.tolist() for instance in instances]
    for position in range(max(len(i) for i in items)):
        active = [k for k in range(len(instances)) if position < len(items[k])]
        feasible = [np.flatnonzero(remaining[k] >= items[k][position]) for k in active]
        answers = score_batch([(items[k][position], remaining[k][f]) for k, f in zip(active, feasible)])
        for k, bins, answer in zip(active, feasible, answers):
            scores = _checked_scores(answer, bins, position, instances[k].name)
            remaining[k][bins[int(np.argmax(scores))]] -= items[k][position]
        if position & 255 == 0 and time.perf_counter() > deadline:
            raise PackingTimeout(f"priority too slow: time budget spent at item {position}")
    return [Packing(instance, int(np.count_nonzero(r < instance.capacity))) for instance, r in zip(instances, remaining)]


def pack(instance: Instance, priority: Priority, deadline: float = math.inf) -> Packing:
    """One instance with a priority function of this process (reference heuristics, tests)."""
    return pack_lockstep([instance], lambda requests: [priority(*r) for r in requests], deadline)[0]


def dataset_excess_pct(packings: list[Packing]) -> float:
    """FunSearch's dataset figure: (mean bins - mean bound) / mean bound, in percent."""
    mean_bins = float(np.mean([p.bins_used for p in packings]))
    mean_bound = float(np.mean([p.instance.l1_bound for p in packings]))
    return 100.0 * (mean_bins - mean_bound) / mean_bound

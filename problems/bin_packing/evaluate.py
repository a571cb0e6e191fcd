"""Scores a bin-packing priority function by excess bins over the L1 lower bound.

Train: Weibull instances generated from fixed seeds (the published sets stay unseen
during evolution). Test: the published OR3 and Weibull 5k sets, scored separately because
a heuristic tuned on one distribution can be poor on the other.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from online_packing import (
    Instance,
    Packing,
    ScoreBatch,
    dataset_excess_pct,
    load_dataset,
    pack,
    pack_lockstep,
    weibull_instance,
)

from evolve.evaluators.channel import Candidate
from evolve.evaluators.contract import InvalidProgram

DATA = Path(__file__).parent / "data"
TRAIN_SEEDS = (101, 102, 103, 104, 105)
TRAIN_ITEMS = 1000
QUICK_INSTANCES = 2
TIME_BUDGET_S = {"train": 20.0, "test": 60.0}


def train_instances() -> list[Instance]:
    return [weibull_instance(f"weibull1k_seed{s}", s, TRAIN_ITEMS) for s in TRAIN_SEEDS]


def test_datasets() -> dict[str, list[Instance]]:
    return {
        "or3": load_dataset(DATA / "or3.json"),
        "weibull_5k": load_dataset(DATA / "weibull_5k.json"),
    }


def _best_fit(item: float, bins: np.ndarray) -> np.ndarray:
    return -(bins - item)


def _candidate_priority(candidate: Candidate) -> ScoreBatch:
    """One round trip per step of all instances to the candidate's ``priority``."""
    if not candidate.has("priority"):
        raise InvalidProgram("the program must define priority(item, bins) -> np.ndarray")
    return lambda requests: candidate.call_many("priority", requests)


def _report(label: str, packings: list[Packing], reference: list[Packing]) -> str:
    """Per-instance lines, worst first, next to best fit so the losses are visible."""
    rows = sorted(zip(packings, reference), key=lambda pr: -pr[0].excess_pct)
    lines = [f"{label}: instance, L1 bound, bins used, excess %, best fit bins"]
    for packing, ref in rows:
        lines.append(
            f"  {packing.instance.name}: {packing.instance.l1_bound}, {packing.bins_used}, "
            f"{packing.excess_pct:.2f}, {ref.bins_used}"
        )
    lines.append(
        f"  dataset excess {dataset_excess_pct(packings):.2f} % "
        f"(best fit {dataset_excess_pct(reference):.2f} %)"
    )
    return "\n".join(lines)


def _score_split(instances_by_set: dict[str, list[Instance]], priority: ScoreBatch, budget_s: float) -> dict:
    deadline = time.perf_counter() + budget_s
    result: dict = {}
    artifacts: dict[str, str] = {}
    excesses = []
    worst = []
    per_instance: dict[str, float] = {}
    everything = [instance for instances in instances_by_set.values() for instance in instances]
    packed = dict(zip((id(i) for i in everything), pack_lockstep(everything, priority, deadline)))
    for label, instances in instances_by_set.items():
        packings = [packed[id(instance)] for instance in instances]
        reference = [pack(instance, _best_fit) for instance in instances]
        excess = dataset_excess_pct(packings)
        excesses.append(excess)
        result[f"{label}_excess_pct"] = excess
        result[f"{label}_mean_bins"] = float(np.mean([p.bins_used for p in packings]))
        artifacts[label] = _report(label, packings, reference)
        per_instance.update({f"{label}/{p.instance.name}": -p.excess_pct for p in packings})
        worst.extend(packings)
    worst.sort(key=lambda p: -p.excess_pct)
    result["score"] = -float(np.mean(excesses))
    result["worst_instance_excess_pct"] = worst[0].excess_pct
    result["instances"] = per_instance
    artifacts["worst_instances"] = ", ".join(
        f"{p.instance.name} ({p.excess_pct:.2f} %)" for p in worst[:3]
    )
    result["artifacts"] = artifacts
    return result


def _split_sets(split: str) -> dict[str, list[Instance]]:
    if split == "train":
        return {"train": train_instances()}
    if split == "test":
        return test_datasets()
    raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    """score = -excess % (train); on test, minus the mean of the OR3 and Weibull 5k excess."""
    sets = _split_sets(split)
    return _score_split(sets, _candidate_priority(candidate), TIME_BUDGET_S[split])


def evaluate_quick(candidate: Candidate, split: str = "train") -> dict:
    """The first train instances only: catches broken or slow programs cheaply."""
    sets = {name: instances[:QUICK_INSTANCES] for name, instances in _split_sets(split).items()}
    return _score_split(sets, _candidate_priority(candidate), TIME_BUDGET_S[split])

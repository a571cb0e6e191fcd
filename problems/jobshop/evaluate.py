"""Scores a job-shop dispatching priority by the makespans of the schedules it builds.

Train: fresh instances of every Taillard size class from other seeds of Taillard's own
generator; no best-known schedules exist for them, so the gap is to their lower bound.
Test (held out): ta01-ta80, gap to the best-known upper bound per size class, the form of
L2D's Table 3. The candidate only ever sees the offered operations, never a bound.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from dispatch import Offer, Outcome, ScoreBatch, schedule_all
from taillard import Instance, generated_instances, taillard_instances

from evolve.evaluators.contract import InvalidProgram

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate

TRAIN_PER_CLASS = 2
TRAIN_SEED = 19
TIME_BUDGET_S = {"train": 30.0, "test": 120.0}
IDLE_INSTANCES = 1


def train_instances() -> list[Instance]:
    return generated_instances(TRAIN_PER_CLASS, TRAIN_SEED)


def split_instances(split: str) -> list[Instance]:
    if split == "train":
        return train_instances()
    if split == "test":
        return taillard_instances()
    raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")


def _idle_report(outcome: Outcome) -> str:
    idle = outcome.machine_idle()
    cells = ", ".join(f"m{machine + 1} {value} ({100 * value / outcome.makespan:.0f} %)" for machine, value in enumerate(idle))
    bottleneck = int(np.argmin(idle)) + 1
    return (
        f"{outcome.instance.name} (makespan {outcome.makespan}, bottleneck m{bottleneck}): "
        f"idle time per machine before the makespan: {cells}"
    )


def _artifacts(outcomes: list[Outcome], classes: dict[str, list[Outcome]]) -> dict[str, str]:
    worst = sorted(outcomes, key=lambda o: -o.gap_pct)
    reference = "best-known upper bound" if outcomes[0].instance.upper_bound else "lower bound"
    class_lines = []
    for size, members in classes.items():
        hardest = max(members, key=lambda o: o.gap_pct)
        class_lines.append(
            f"{size}: mean gap {np.mean([o.gap_pct for o in members]):.2f} % "
            f"(worst {hardest.instance.name} {hardest.gap_pct:.2f} %)"
        )
    return {
        "size_classes": f"gap to the {reference}, per size class\n" + "\n".join(class_lines),
        "worst_instances": ", ".join(
            f"{o.instance.name} (makespan {o.makespan}, gap {o.gap_pct:.2f} %)" for o in worst[:3]
        ),
        "machine_idle": "\n".join(_idle_report(o) for o in worst[:IDLE_INSTANCES]),
    }


def score_outcomes(outcomes: list[Outcome]) -> dict:
    """score = -mean gap (%); a metric per size class; how greedy the choices were."""
    classes: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        classes.setdefault(outcome.instance.size_class, []).append(outcome)
    result: dict = {f"gap_{size}": float(np.mean([o.gap_pct for o in members])) for size, members in classes.items()}
    gaps = [o.gap_pct for o in outcomes]
    result["score"] = -float(np.mean(gaps))
    result["mean_gap_pct"] = float(np.mean(gaps))
    result["worst_gap_pct"] = float(np.max(gaps))
    result["lower_bound_gap_pct"] = float(np.mean([o.lower_bound_gap_pct for o in outcomes]))
    result["shortest_share"] = float(np.mean([o.shortest_share for o in outcomes]))
    result["soonest_share"] = float(np.mean([o.soonest_share for o in outcomes]))
    result["artifacts"] = _artifacts(outcomes, classes)
    return result


def score_rule(score_batch: ScoreBatch, instances: list[Instance], budget_s: float) -> dict:
    """Schedule the instances with the batch priority and score the makespans."""
    outcomes = schedule_all(instances, score_batch, time.perf_counter() + budget_s)
    return score_outcomes(outcomes)


def candidate_batch(candidate: Candidate) -> ScoreBatch:
    """One round trip per decision step: the program's priority on every instance's offer."""
    if not candidate.has("priority"):
        raise InvalidProgram("the program must define priority(ops: dict[str, np.ndarray]) -> np.ndarray")

    def batch(offers: list[Offer]) -> list:
        return candidate.call_many("priority", [(offer,) for offer in offers])

    return batch


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    """score = -mean gap (%): to the lower bound on train, to the best-known makespan on test."""
    instances = split_instances(split)
    return score_rule(candidate_batch(candidate), instances, TIME_BUDGET_S[split])


"""Priority dispatching with left-shift insertion, many instances in lock-step.

At each decision every job with an operation left offers its next one; the priority
scores them and the highest is placed at the earliest start its job and machine allow,
in an idle gap of the machine if it fits there (the action semantics of L2D's
environment, Zhang et al. 2020). Running all instances of a split in lock-step turns
one decision step of every instance into one batch of priority calls.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from taillard import Instance

from evolve.evaluators.contract import InvalidProgram, expect_array

Offer = dict[str, np.ndarray | float]
ScoreBatch = Callable[[list[Offer]], list]


class DispatchTimeout(InvalidProgram):
    """The priority spent the split's time budget before every instance was scheduled."""


@dataclass(frozen=True)
class Outcome:
    """One finished schedule and how the rule made its choices."""

    instance: Instance
    starts: np.ndarray
    makespan: int
    shortest_share: float
    soonest_share: float

    @property
    def gap_pct(self) -> float:
        """Gap to the best-known upper bound, or to the lower bound where none is known."""
        reference = self.instance.upper_bound or self.instance.lower_bound
        return 100.0 * (self.makespan - reference) / reference

    @property
    def lower_bound_gap_pct(self) -> float:
        return 100.0 * (self.makespan - self.instance.lower_bound) / self.instance.lower_bound

    def machine_idle(self) -> np.ndarray:
        """Per machine, the time it stands idle before the makespan."""
        load = np.bincount(self.instance.machines.ravel(), self.instance.times.ravel(), self.instance.times.shape[1])
        return self.makespan - load.astype(np.int64)


class Shop:
    """The partial schedule of one instance."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.times = instance.times
        self.machines = instance.machines
        jobs, machines = self.times.shape
        self.work_suffix = np.cumsum(self.times[:, ::-1], axis=1)[:, ::-1]
        self.next_op = np.zeros(jobs, dtype=np.int64)
        self.job_ready = np.zeros(jobs, dtype=np.int64)
        self.machine_ready = np.zeros(machines, dtype=np.int64)
        self.machine_left = np.bincount(self.machines.ravel(), self.times.ravel(), machines).astype(np.int64)
        self.starts = np.full(self.times.shape, -1, dtype=np.int64)
        self.slot_starts: list[list[int]] = [[] for _ in range(machines)]
        self.slot_ends: list[list[int]] = [[] for _ in range(machines)]
        self.active = np.arange(jobs)
        self.decisions = 0
        self.shortest = 0
        self.soonest = 0
        self.offered: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))

    @property
    def done(self) -> bool:
        return self.active.size == 0

    def offer(self) -> Offer:
        """Fresh arrays describing the next operation of every unfinished job, and the time.

        Each array crosses to the candidate's process at every decision, so the offer
        holds only what a rule cannot derive from the rest.
        """
        jobs = self.active
        step = self.next_op[jobs]
        machine = self.machines[jobs, step]
        duration = self.times[jobs, step]
        work_remaining = self.work_suffix[jobs, step]
        last = step + 1 >= self.times.shape[1]
        following = np.where(last, 0, self.times[jobs, np.minimum(step + 1, self.times.shape[1] - 1)])
        job_ready = self.job_ready[jobs]
        machine_ready = self.machine_ready[machine]
        soonest = np.maximum(job_ready, machine_ready)
        self.offered = (duration, soonest)
        return {
            "machine": machine,
            "duration": duration.astype(np.float64),
            "work_remaining": work_remaining.astype(np.float64),
            "ops_remaining": (self.times.shape[1] - step).astype(np.float64),
            "work_done": (self.work_suffix[jobs, 0] - work_remaining).astype(np.float64),
            "next_duration": following.astype(np.float64),
            "job_ready": job_ready.astype(np.float64),
            "machine_ready": machine_ready.astype(np.float64),
            "machine_work_left": self.machine_left[machine].astype(np.float64),
            "time": float(soonest.min()),
        }

    def dispatch(self, choice: int) -> None:
        """Place the operation at index `choice` of the last offer."""
        duration_offered, soonest = self.offered
        self.decisions += 1
        self.shortest += bool(duration_offered[choice] == duration_offered.min())
        self.soonest += bool(soonest[choice] == soonest.min())
        job = int(self.active[choice])
        step = int(self.next_op[job])
        machine = int(self.machines[job, step])
        duration = int(self.times[job, step])
        start = self._insert(machine, int(self.job_ready[job]), duration)
        self.starts[job, step] = start
        self.job_ready[job] = start + duration
        self.machine_ready[machine] = self.slot_ends[machine][-1]
        self.machine_left[machine] -= duration
        self.next_op[job] = step + 1
        if step + 1 == self.times.shape[1]:
            self.active = self.active[self.active != job]

    def _insert(self, machine: int, ready: int, duration: int) -> int:
        """Earliest start >= ready in an idle gap of the machine that holds the operation."""
        starts, ends = self.slot_starts[machine], self.slot_ends[machine]
        position = bisect_right(ends, ready)
        earliest = ready
        while position < len(starts):
            if starts[position] - earliest >= duration:
                break
            earliest = max(ready, ends[position])
            position += 1
        starts.insert(position, earliest)
        ends.insert(position, earliest + duration)
        return earliest

    def outcome(self) -> Outcome:
        decisions = max(self.decisions, 1)
        return Outcome(
            self.instance, self.starts, int(self.job_ready.max()),
            self.shortest / decisions, self.soonest / decisions,
        )


def schedule_all(instances: list[Instance], score_batch: ScoreBatch, deadline: float = float("inf")) -> list[Outcome]:
    """Schedule every instance, one batch of priority calls per decision step."""
    shops = [Shop(instance) for instance in instances]
    step = 0
    while active := [shop for shop in shops if not shop.done]:
        offers = [shop.offer() for shop in active]
        for shop, score in zip(active, score_batch(offers)):
            what = f"priority (decision {shop.decisions} of {shop.instance.name})"
            shop.dispatch(int(np.argmax(expect_array(score, (shop.active.size,), what))))
        step += 1
        if time.perf_counter() > deadline:
            raise DispatchTimeout(f"priority too slow: time budget spent at decision step {step}")
    return [shop.outcome() for shop in shops]

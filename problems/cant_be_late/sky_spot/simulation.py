"""The single-region tick rules on the scorer's side: billing, progress, restart overhead, safety net.

Semantics follow the Can't Be Late simulator as used by the ADRS leaderboard: each tick
bills what ran during the previous interval, credits its progress, asks the policy, then
applies the deadline guarantee and the spot-availability check that the policy cannot
override. The policy runs in the candidate's process (sky_spot.fleet). Runs holds the
true state of every run as arrays and advances all unfinished runs one tick at a time, so
one question per tick covers them all; each element follows the same float operations in
the same order as a one-run loop, so costs are bit for bit those of one run at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sky_spot.cluster_type import CLUSTER_TYPES, ClusterType
from sky_spot.prices import COSTS

NONE, SPOT, ON_DEMAND = (CLUSTER_TYPES.index(t) for t in (ClusterType.NONE, ClusterType.SPOT, ClusterType.ON_DEMAND))


class SimulationError(Exception):
    """A run could not be completed under the simulator's rules; ``run`` is its index."""

    def __init__(self, message: str, run: int = -1) -> None:
        super().__init__(message)
        self.run = run


class TraceExhausted(SimulationError):
    """The job was still running when the availability trace ended."""


@dataclass(frozen=True)
class RunResult:
    cost: float
    finish_seconds: float
    spot_ticks: int
    on_demand_ticks: int
    preemptions: int
    missed_deadline: bool


class Runs:
    """Jobs of ``task_hours`` of work from hour 0 of their traces, one row per run.

    After ``bill`` the policy of each active run is told ``running`` (what runs now, NONE
    after a preemption), ``pending`` (restart overhead still to pay), ``work`` (progress
    credited for the interval just billed), ``last`` and ``has_spot``; ``apply`` takes
    one answer per active run.
    """

    def __init__(self, unavailable: np.ndarray, gap_seconds: float, task_hours: float,
                 deadline_hours: Sequence[float], overhead_hours: Sequence[float]) -> None:
        self.unavailable = np.asarray(unavailable, dtype=bool)
        count = len(self.unavailable)
        self.task_hours = task_hours
        self.gap = float(gap_seconds)
        self.duration = task_hours * 3600.0
        self.deadline = np.asarray(deadline_hours, dtype=np.float64) * 3600.0
        self.overhead = np.asarray(overhead_hours, dtype=np.float64) * 3600.0
        self.tick_price = np.array([COSTS[kind] * self.gap / 3600.0 for kind in CLUSTER_TYPES])
        self.done, self.pending, self.cost, self.work = (np.zeros(count) for _ in range(4))
        self.running, self.last = np.full(count, NONE, dtype=np.int8), np.full(count, NONE, dtype=np.int8)
        self.has_spot = np.zeros(count, dtype=bool)
        self.spot_ticks, self.on_demand_ticks, self.preemptions = (np.zeros(count, dtype=np.int64) for _ in range(3))
        self.finish = np.full(count, np.nan)
        self.active = np.arange(count)
        self.tick = 0

    def bill(self) -> None:
        """Steps 1-3 of this tick for the active runs; runs whose work is done leave ``active``."""
        k, gap = self.active, self.gap
        if self.tick >= self.unavailable.shape[1]:
            raise TraceExhausted(f"job unfinished after the trace's {self.unavailable.shape[1]} ticks "
                                 f"({self.done[k[0]] / 3600:.2f} of {self.task_hours} h done)", int(k[0]))
        has_spot = ~self.unavailable[k, self.tick]
        last = self.running[k]
        self.has_spot[k], self.last[k] = has_spot, last
        billed = k[last != NONE]
        ran = self.running[billed]
        self.cost[billed] += self.tick_price[ran]
        on_spot = ran == SPOT
        self.spot_ticks[billed[on_spot]] += 1
        self.on_demand_ticks[billed[~on_spot]] += 1
        preempted = billed[on_spot & ~self.has_spot[billed]]
        self.running[preempted] = NONE
        self.preemptions[preempted] += 1
        pending = self.pending[billed]
        work = np.where(gap > pending, gap - pending, 0.0)
        overhead_paid = gap - work
        pending -= overhead_paid
        pending[pending < 1e-3] = 0.0
        self.pending[billed] = pending
        work = np.minimum(work, self.duration - self.done[billed])
        self.work[k] = 0.0
        self.work[billed] = work
        self.done[billed] += work
        finished = self.duration - self.done[billed] <= 1e-9
        self.finish[billed[finished]] = (self.tick * gap - gap + overhead_paid + work)[finished]
        self.active = k[np.isnan(self.finish[k])]

    def apply(self, requests: np.ndarray) -> None:
        """Steps 5-6 for one CLUSTER_TYPES code per active run, then on to the next tick."""
        k, gap = self.active, self.gap
        elapsed = self.tick * gap
        left_seconds = np.floor((self.deadline[k] - elapsed) / gap) * gap
        need_seconds = np.ceil((self.duration - self.done[k] + self.overhead[k]) / gap) * gap
        keep_spot = (self.last[k] == SPOT) & (self.pending[k] < 1e-3)
        request = np.where(need_seconds >= left_seconds, np.where(keep_spot, SPOT, ON_DEMAND), requests)
        request[(request == SPOT) & ~self.has_spot[k]] = NONE
        restart = (request != self.running[k]) & (request != NONE)
        self.pending[k[restart]] = self.overhead[k[restart]]
        self.running[k] = request
        self.tick += 1

    def results(self) -> list[RunResult]:
        return [
            RunResult(cost, finish, spot, on_demand, preemptions, finish > deadline + 1e-6)
            for cost, finish, spot, on_demand, preemptions, deadline in zip(
                self.cost.tolist(), self.finish.tolist(), self.spot_ticks.tolist(), self.on_demand_ticks.tolist(),
                self.preemptions.tolist(), self.deadline.tolist())
        ]


Decide = Callable[[int, np.ndarray], np.ndarray]


def run_lockstep(runs: Runs, decide: Decide) -> list[RunResult]:
    """Every run to its end, one tick of all unfinished runs at a time.

    ``decide(tick, active)`` answers for the runs listed in ``active`` (indices into the
    rows of ``runs``) with one CLUSTER_TYPES code each, in that order.
    """
    while True:
        runs.bill()
        if not len(runs.active):
            return runs.results()
        runs.apply(decide(runs.tick, runs.active))

"""The single-region tick rules on the scorer's side: billing, progress, restart overhead, safety net.

Semantics follow the Can't Be Late simulator as used by the ADRS leaderboard: each tick
bills what ran during the previous interval, credits its progress, asks the policy, then
applies the deadline guarantee and the spot-availability check that the policy cannot
override. The policy runs in the candidate's process (sky_spot.fleet); a Job holds one
run's true state, which the policy never holds, and run_lockstep advances every job one
tick at a time so that one question per tick covers all unfinished runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sky_spot.utils import CLUSTER_TYPES, COSTS, ClusterType

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


class Job:
    """One run from hour 0 of its trace until its work is done.

    After ``bill`` the policy is told ``tick``, ``running`` (what runs now, NONE after a
    preemption), ``pending`` (restart overhead still to pay), ``work`` (progress credited
    for the interval just billed), ``last`` and ``has_spot``; ``apply`` takes its answer.
    """

    def __init__(self, unavailable: Sequence[int], gap_seconds: float, task_hours: float,
                 deadline_hours: float, overhead_hours: float) -> None:
        self.unavailable = unavailable
        self.task_hours = task_hours
        self.gap = float(gap_seconds)
        self.duration = task_hours * 3600.0
        self.deadline = deadline_hours * 3600.0
        self.overhead = overhead_hours * 3600.0
        self.tick_price = [COSTS[kind] * self.gap / 3600.0 for kind in CLUSTER_TYPES]
        self.done = self.pending = self.cost = 0.0
        self.running = self.last = NONE
        self.work = 0.0
        self.has_spot = False
        self.spot_ticks = self.on_demand_ticks = self.preemptions = 0
        self.tick = 0
        self.result: RunResult | None = None

    def bill(self) -> bool:
        """Steps 1-3 of this tick; True when the work is done (``result`` is then set)."""
        if self.tick >= len(self.unavailable):
            raise TraceExhausted(
                f"job unfinished after the trace's {len(self.unavailable)} ticks "
                f"({self.done / 3600:.2f} of {self.task_hours} h done)"
            )
        gap = self.gap
        self.has_spot = has_spot = not self.unavailable[self.tick]
        self.last = last = self.running
        if last == NONE:
            self.work = 0.0
            return False
        self.cost += self.tick_price[last]
        if last == SPOT:
            self.spot_ticks += 1
            if not has_spot:
                self.running = NONE
                self.preemptions += 1
        else:
            self.on_demand_ticks += 1
        work = gap - self.pending if gap > self.pending else 0.0
        overhead_paid = gap - work
        self.pending -= overhead_paid
        if self.pending < 1e-3:
            self.pending = 0.0
        if work > self.duration - self.done:
            work = self.duration - self.done
        self.work = work
        self.done += work
        if self.duration - self.done > 1e-9:
            return False
        finished = self.tick * gap - gap + overhead_paid + work
        self.result = RunResult(self.cost, finished, self.spot_ticks, self.on_demand_ticks, self.preemptions,
                                finished > self.deadline + 1e-6)
        return True

    def apply(self, request: int) -> None:
        """Steps 5-6 for the policy's request (a CLUSTER_TYPES code), then on to the next tick."""
        gap = self.gap
        elapsed = self.tick * gap
        left_seconds = math.floor((self.deadline - elapsed) / gap) * gap
        need_seconds = math.ceil((self.duration - self.done + self.overhead) / gap) * gap
        if need_seconds >= left_seconds:
            request = SPOT if self.last == SPOT and self.pending < 1e-3 else ON_DEMAND
        if request == SPOT and not self.has_spot:
            request = NONE
        if request != self.running and request != NONE:
            self.pending = self.overhead
        self.running = request
        self.tick += 1


Decide = Callable[[int, list[int]], Sequence[int]]


def run_lockstep(jobs: Sequence[Job], decide: Decide) -> list[RunResult]:
    """Every job to its end, one tick of all of them at a time.

    ``decide(tick, active)`` answers for the jobs listed in ``active`` (indices into
    ``jobs``, all at ``tick``) with one CLUSTER_TYPES code each, in that order.
    """
    active = list(range(len(jobs)))
    tick = 0
    while active:
        still = []
        for k in active:
            try:
                if not jobs[k].bill():
                    still.append(k)
            except SimulationError as exc:
                exc.run = k
                raise
        if not still:
            break
        for k, request in zip(still, decide(tick, still)):
            jobs[k].apply(request)
        active = still
        tick += 1
    return [job.result for job in jobs if job.result is not None]

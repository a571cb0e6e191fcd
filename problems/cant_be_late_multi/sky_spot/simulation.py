"""The multi-region tick rules on the scorer's side: the single-region rules plus zone moves.

Per tick: bill the previous interval (spot at the zone's first trace price, on-demand at
$3.06/h), credit its progress, ask the policy, apply the deadline safety net, then the
zone move: a policy that called `env.switch_region(i)` (and was not overridden by the
safety net) stops its instance for this interval and is in zone i at the next tick.
The policy runs in the candidate's process (sky_spot.fleet); a Job holds one run's true
state, zone included, and run_lockstep asks one question per tick for all unfinished runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sky_spot.utils import CLUSTER_TYPES, ON_DEMAND_PRICE_PER_HOUR, ClusterType

NONE, SPOT, ON_DEMAND = (CLUSTER_TYPES.index(t) for t in (ClusterType.NONE, ClusterType.SPOT, ClusterType.ON_DEMAND))
STAY = -1


class SimulationError(Exception):
    """A run could not be completed under the simulator's rules; ``run`` is its index."""

    def __init__(self, message: str, run: int = -1) -> None:
        super().__init__(message)
        self.run = run


class TraceExhausted(SimulationError):
    """The job was still running when the availability traces ended."""


@dataclass(frozen=True)
class RunResult:
    cost: float
    finish_seconds: float
    spot_ticks: int
    on_demand_ticks: int
    preemptions: int
    region_switches: int
    missed_deadline: bool


class Job:
    """One run that starts idle in zone 0 and goes on until its work is done.

    After ``bill`` the policy is told ``running`` (NONE after a preemption), ``region``,
    ``pending``, ``work`` (progress credited for the interval just billed), ``last`` and
    ``has_spot`` (of the current zone); ``apply`` takes its decision and zone move.
    """

    def __init__(self, unavailable: Sequence[Sequence[int]], spot_prices: Sequence[float], gap_seconds: float,
                 task_hours: float, deadline_hours: float, overhead_hours: float) -> None:
        self.unavailable = unavailable
        self.zones = len(unavailable)
        self.n_ticks = min(len(row) for row in unavailable)
        self.task_hours = task_hours
        self.gap = float(gap_seconds)
        self.duration = task_hours * 3600.0
        self.deadline = deadline_hours * 3600.0
        self.overhead = overhead_hours * 3600.0
        self.on_demand_tick = ON_DEMAND_PRICE_PER_HOUR * self.gap / 3600.0
        self.spot_tick = [price * self.gap / 3600.0 for price in spot_prices]
        self.done = self.pending = self.cost = 0.0
        self.running = self.last = NONE
        self.region = 0
        self.work = 0.0
        self.has_spot = False
        self.spot_ticks = self.on_demand_ticks = self.preemptions = self.switches = 0
        self.tick = 0
        self.result: RunResult | None = None

    def bill(self) -> bool:
        """Bill and credit the interval before this tick; True when the work is done (``result`` is set)."""
        if self.tick >= self.n_ticks:
            raise TraceExhausted(
                f"job unfinished after the traces' {self.n_ticks} ticks "
                f"({self.done / 3600:.2f} of {self.task_hours} h done)"
            )
        gap = self.gap
        self.has_spot = has_spot = not self.unavailable[self.region][self.tick]
        self.last = last = self.running
        if last == NONE:
            self.work = 0.0
            return False
        if last == SPOT:
            self.cost += self.spot_tick[self.region]
            self.spot_ticks += 1
            if not has_spot:
                self.running = NONE
                self.preemptions += 1
        else:
            self.cost += self.on_demand_tick
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
                                self.switches, finished > self.deadline + 1e-6)
        return True

    def apply(self, request: int, target: int) -> None:
        """The policy's request (a CLUSTER_TYPES code) and zone move (STAY or a zone), then the next tick."""
        gap = self.gap
        elapsed = self.tick * gap
        left_seconds = math.floor((self.deadline - elapsed) / gap) * gap
        need_seconds = math.ceil((self.duration - self.done + self.overhead) / gap) * gap
        if need_seconds >= left_seconds:
            request = SPOT if self.last == SPOT and self.pending < 1e-3 else ON_DEMAND
            target = STAY
        if target != STAY:
            request = NONE
            self.region = target
            self.switches += 1
        elif request == SPOT and not self.has_spot:
            request = NONE
        if request != self.running and request != NONE:
            self.pending = self.overhead
        self.running = request
        self.tick += 1


Decide = Callable[[int, list[int]], Sequence[tuple[int, int]]]


def run_lockstep(jobs: Sequence[Job], decide: Decide) -> list[RunResult]:
    """Every job to its end, one tick of all of them at a time.

    ``decide(tick, active)`` answers for the jobs listed in ``active`` (indices into
    ``jobs``, all at ``tick``) with one (CLUSTER_TYPES code, zone or STAY) pair each.
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
        for k, (request, target) in zip(still, decide(tick, still)):
            jobs[k].apply(request, target)
        active = still
        tick += 1
    return [job.result for job in jobs if job.result is not None]

"""The multi-region tick rules on the scorer's side, as the ADRS leaderboard's simulator applies them.

Per tick: note the previous interval's instance type, credit its progress, ask the policy,
apply the deadline safety net and the spot check in the zone the policy ended in. A zone
move (`env.switch_region(i)`) takes effect at once: the policy may launch spot in the new
zone in the same tick, and a spot-to-spot move costs no restart. The bill is the
leaderboard's: every billed interval is priced with the prices of the zone the job is in
when it finishes (its accumulated cost is recomputed from the current zone's price map),
a quirk kept so published numbers reproduce. The policy runs in the candidate's process
(sky_spot.fleet); a Job holds one run's true state, and run_lockstep asks one question per
tick for all unfinished runs, including the tick in which a run's work completes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sky_spot.cluster_type import CLUSTER_TYPES, ClusterType
from sky_spot.prices import ON_DEMAND_PRICE_PER_HOUR

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
    ``pending``, ``work`` (progress credited for the interval just billed), ``last``,
    ``has_spot`` (of the current zone) and ``spots`` (every zone's availability at this
    tick, which the leaderboard's env exposes); ``apply`` takes its decision and zone move,
    or ``close`` the move asked for in the tick the work completed.
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
        self.done = self.pending = 0.0
        self.running = self.last = NONE
        self.region = 0
        self.work = 0.0
        self.has_spot = False
        self.billed: list[int] = []
        self.preemptions = self.switches = 0
        self.tick = 0
        self.finished_at: float | None = None
        self.result: RunResult | None = None

    def spots(self) -> list[bool]:
        """Every zone's spot availability at the current tick (never a later one)."""
        return [not row[self.tick] for row in self.unavailable]

    def bill(self) -> bool:
        """Note and credit the interval before this tick; True when the work is now done."""
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
        self.billed.append(last)
        if last == SPOT and not has_spot:
            self.running = NONE
            self.preemptions += 1
        work = gap - self.pending if gap > self.pending else 0.0
        overhead_paid = gap - work
        self.pending -= overhead_paid
        if self.pending < 1e-3:
            self.pending = 0.0
        if work > self.duration - self.done:
            work = self.duration - self.done
        self.work = work
        self.done += work
        if self.duration - self.done > 1e-8:
            return False
        self.finished_at = self.tick * gap - gap + overhead_paid + work
        return True

    def _move(self, target: int) -> None:
        if target != STAY and target != self.region:
            self.region = target
            self.switches += 1
            self.has_spot = not self.unavailable[target][self.tick]

    def apply(self, request: int, target: int) -> None:
        """The policy's request (a CLUSTER_TYPES code) and final zone (STAY or a zone), then the next tick."""
        self._move(target)
        gap = self.gap
        elapsed = self.tick * gap
        left_seconds = math.floor((self.deadline - elapsed) / gap) * gap
        need_seconds = math.ceil((self.duration - self.done + self.overhead) / gap) * gap
        if self.duration - self.done > 1e-3 and need_seconds >= left_seconds:
            request = SPOT if self.last == SPOT and self.pending < 1e-3 else ON_DEMAND
        if request == SPOT and not self.has_spot:
            request = NONE
        if request != self.running and request != NONE:
            self.pending = self.overhead
        self.running = request
        self.tick += 1

    def close(self, target: int) -> RunResult:
        """The run's result once its work is done, billed at the prices of the zone it ends in."""
        self._move(target)
        prices = {SPOT: self.spot_tick[self.region], ON_DEMAND: self.on_demand_tick}
        cost = 0.0
        for kind in self.billed:
            cost += prices[kind]
        finished = self.finished_at if self.finished_at is not None else float("inf")
        self.result = RunResult(cost, finished, self.billed.count(SPOT), self.billed.count(ON_DEMAND),
                                self.preemptions, self.switches, finished > self.deadline + 1e-6)
        return self.result


Decide = Callable[[int, list[int]], Sequence[tuple[int, int]]]


def run_lockstep(jobs: Sequence[Job], decide: Decide) -> list[RunResult]:
    """Every job to its end, one tick of all of them at a time.

    ``decide(tick, active)`` answers for the jobs listed in ``active`` (indices into
    ``jobs``, all at ``tick``) with one (CLUSTER_TYPES code, zone or STAY) pair each; a job
    whose work completed at this tick is asked too, and only its zone move counts.
    """
    active = list(range(len(jobs)))
    tick = 0
    while active:
        completed = set()
        for k in active:
            try:
                if jobs[k].bill():
                    completed.add(k)
            except SimulationError as exc:
                exc.run = k
                raise
        still = []
        for k, (request, target) in zip(active, decide(tick, active)):
            if k in completed:
                jobs[k].close(target)
            else:
                jobs[k].apply(request, target)
                still.append(k)
        active = still
        tick += 1
    return [job.result for job in jobs if job.result is not None]

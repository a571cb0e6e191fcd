"""The single-region tick loop: billing, progress, restart overhead and the safety net.

Semantics follow the Can't Be Late simulator as used by the ADRS leaderboard: each tick
bills what ran during the previous interval, credits its progress, asks the policy, then
applies the deadline guarantee and the spot-availability check that the policy cannot
override.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Sequence

from sky_spot.env import TraceEnv
from sky_spot.strategies.strategy import Strategy
from sky_spot.task import Task
from sky_spot.utils import COSTS, ClusterType

SPOT = ClusterType.SPOT
ON_DEMAND = ClusterType.ON_DEMAND
NONE = ClusterType.NONE
VALID_DECISIONS = frozenset((SPOT, ON_DEMAND, NONE))


class SimulationError(Exception):
    """A run could not be completed under the simulator's rules."""


class TraceExhausted(SimulationError):
    """The job was still running when the availability trace ended."""


class InvalidDecision(SimulationError):
    """The policy returned something other than a ClusterType member."""


@dataclass(frozen=True)
class RunResult:
    cost: float
    finish_seconds: float
    spot_ticks: int
    on_demand_ticks: int
    preemptions: int
    missed_deadline: bool


def run_strategy(
    strategy_cls: type[Strategy],
    unavailable: Sequence[int],
    gap_seconds: float,
    task_hours: float,
    deadline_hours: float,
    overhead_hours: float,
) -> RunResult:
    """Simulate one job from hour 0 of the trace until its work is done."""
    args = argparse.Namespace(
        deadline_hours=deadline_hours,
        task_duration_hours=[task_hours],
        restart_overhead_hours=[overhead_hours],
        inter_task_overhead=[0.0],
    )
    strategy = strategy_cls(args)
    env = TraceEnv(gap_seconds)
    strategy.reset(env, Task(task_hours * 3600))

    gap = float(gap_seconds)
    duration = task_hours * 3600.0
    deadline = deadline_hours * 3600.0
    overhead = overhead_hours * 3600.0
    tick_price = {kind: price * gap / 3600.0 for kind, price in COSTS.items()}
    progress = strategy.task_done_time
    decide = strategy._step

    done = 0.0
    pending = 0.0
    cost = 0.0
    running = NONE
    spot_ticks = on_demand_ticks = preemptions = 0
    n_ticks = len(unavailable)
    tick = 0
    while True:
        if tick >= n_ticks:
            raise TraceExhausted(
                f"job unfinished after the trace's {n_ticks} ticks "
                f"({done / 3600:.2f} of {task_hours} h done)"
            )
        has_spot = not unavailable[tick]
        last = running
        if last is NONE:
            progress.append(0.0)
        else:
            cost += tick_price[last]
            if last is SPOT:
                spot_ticks += 1
                if not has_spot:
                    running = NONE
                    preemptions += 1
            else:
                on_demand_ticks += 1
            work = gap - pending if gap > pending else 0.0
            overhead_paid = gap - work
            pending -= overhead_paid
            if pending < 1e-3:
                pending = 0.0
            if work > duration - done:
                work = duration - done
            progress.append(work)
            done += work
        elapsed = tick * gap
        if duration - done <= 1e-9:
            finished = elapsed - gap + overhead_paid + work
            return RunResult(cost, finished, spot_ticks, on_demand_ticks, preemptions, finished > deadline + 1e-6)

        env.tick = tick
        env.elapsed_seconds = elapsed
        env.cluster_type = running
        strategy.remaining_restart_overhead = pending
        request = decide(last, has_spot)
        if request not in VALID_DECISIONS:
            raise InvalidDecision(f"_step returned {request!r} at tick {tick}; expected a ClusterType")

        left_seconds = math.floor((deadline - elapsed) / gap) * gap
        need_seconds = math.ceil((duration - done + overhead) / gap) * gap
        if need_seconds >= left_seconds:
            request = SPOT if last is SPOT and pending < 1e-3 else ON_DEMAND
        if request is SPOT and not has_spot:
            request = NONE
        if request is not running and request is not NONE:
            pending = overhead
        running = request
        tick += 1

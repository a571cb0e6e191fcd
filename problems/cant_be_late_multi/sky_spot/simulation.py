"""The multi-region tick loop: the single-region rules plus zone moves.

Per tick: bill the previous interval (spot at the zone's first trace price, on-demand at
$3.06/h), credit its progress, ask the policy, apply the deadline safety net, then the
zone move: a policy that called `env.switch_region(i)` (and was not overridden by the
safety net) stops its instance for this interval and is in zone i at the next tick.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Sequence

from sky_spot.env import InvalidRegion, MultiTraceEnv
from sky_spot.strategies.strategy import Strategy
from sky_spot.task import Task
from sky_spot.utils import ON_DEMAND_PRICE_PER_HOUR, ClusterType

SPOT = ClusterType.SPOT
ON_DEMAND = ClusterType.ON_DEMAND
NONE = ClusterType.NONE
VALID_DECISIONS = frozenset((SPOT, ON_DEMAND, NONE))


class SimulationError(Exception):
    """A run could not be completed under the simulator's rules."""


class TraceExhausted(SimulationError):
    """The job was still running when the availability traces ended."""


class InvalidDecision(SimulationError):
    """The policy returned something other than a ClusterType member, or a bad zone."""


@dataclass(frozen=True)
class RunResult:
    cost: float
    finish_seconds: float
    spot_ticks: int
    on_demand_ticks: int
    preemptions: int
    region_switches: int
    missed_deadline: bool


def run_strategy(
    strategy_cls: type[Strategy],
    unavailable: Sequence[Sequence[int]],
    spot_prices: Sequence[float],
    gap_seconds: float,
    task_hours: float,
    deadline_hours: float,
    overhead_hours: float,
) -> RunResult:
    """Simulate one job that starts idle in zone 0 until its work is done."""
    args = argparse.Namespace(
        deadline_hours=deadline_hours,
        task_duration_hours=[task_hours],
        restart_overhead_hours=[overhead_hours],
        inter_task_overhead=[0.0],
        region_switch_overhead_hours=0.0,
    )
    strategy = strategy_cls(args)
    env = MultiTraceEnv(gap_seconds, len(unavailable))
    strategy.reset(env, Task(task_hours * 3600))

    gap = float(gap_seconds)
    duration = task_hours * 3600.0
    deadline = deadline_hours * 3600.0
    overhead = overhead_hours * 3600.0
    on_demand_tick = ON_DEMAND_PRICE_PER_HOUR * gap / 3600.0
    spot_tick = [price * gap / 3600.0 for price in spot_prices]
    progress = strategy.task_done_time
    decide = strategy._step

    done = pending = cost = 0.0
    running = NONE
    region = 0
    spot_ticks = on_demand_ticks = preemptions = switches = 0
    n_ticks = min(len(row) for row in unavailable)
    tick = 0
    while True:
        if tick >= n_ticks:
            raise TraceExhausted(
                f"job unfinished after the traces' {n_ticks} ticks "
                f"({done / 3600:.2f} of {task_hours} h done)"
            )
        has_spot = not unavailable[region][tick]
        last = running
        if last is NONE:
            progress.append(0.0)
        else:
            if last is SPOT:
                cost += spot_tick[region]
                spot_ticks += 1
                if not has_spot:
                    running = NONE
                    preemptions += 1
            else:
                cost += on_demand_tick
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
            return RunResult(cost, finished, spot_ticks, on_demand_ticks, preemptions, switches,
                             finished > deadline + 1e-6)

        env.tick = tick
        env.elapsed_seconds = elapsed
        env.cluster_type = running
        env._region = region
        env.requested_region = None
        strategy.remaining_restart_overhead = pending
        try:
            request = decide(last, has_spot)
        except InvalidRegion as exc:
            raise InvalidDecision(f"tick {tick}: {exc}") from exc
        if request not in VALID_DECISIONS:
            raise InvalidDecision(f"_step returned {request!r} at tick {tick}; expected a ClusterType")
        target = env.requested_region

        left_seconds = math.floor((deadline - elapsed) / gap) * gap
        need_seconds = math.ceil((duration - done + overhead) / gap) * gap
        if need_seconds >= left_seconds:
            request = SPOT if last is SPOT and pending < 1e-3 else ON_DEMAND
            target = None
        if target is not None:
            request = NONE
            region = target
            switches += 1
        elif request is SPOT and not has_spot:
            request = NONE
        if request is not running and request is not NONE:
            pending = overhead
        running = request
        tick += 1

"""The program's multi-region strategy on the candidate's side: one instance per run, stepped together.

The scorer (evaluate.py, sky_spot.simulation) keeps the traces, the prices and the true
state of every run, its zone included. Each tick it sends, for all unfinished runs in one
round trip, what a published strategy may see: the clock, what is running, the zone, the
pending restart overhead, the progress just credited, the current zone's spot
availability and every zone's availability at this tick. This module rebuilds the
published view from those numbers and calls `_step`; it answers each run's decision and
the zone the view ended in (moves with `env.switch_region` take effect at once, as in the
leaderboard's simulator). The scorer checks both and applies the rules itself.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import Any

import numpy as np

from sky_spot.cluster_type import CLUSTER_TYPES
from sky_spot.env import InvalidRegion, MultiTraceEnv
from sky_spot.strategies.strategy import Strategy
from sky_spot.task import Task

PROGRAM_MODULE = "candidate"  # the name under which the framework loads the program
_CODES = {kind: code for code, kind in enumerate(CLUSTER_TYPES)}
STAY = -1


class NoStrategy(Exception):
    """The program defines no usable strategy class, or several."""


def find_strategy(module: ModuleType) -> type[Strategy]:
    """The one concrete strategy class the program defines."""
    defined = [
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Strategy) and obj.__module__ == module.__name__
    ]
    leaves = [c for c in defined if not any(o is not c and issubclass(o, c) for o in defined)]
    if not leaves:
        raise NoStrategy(
            "the program defines no subclass of sky_spot.strategies.multi_strategy.MultiRegionStrategy "
            "with a _step(self, last_cluster_type, has_spot) method"
        )
    if len(leaves) > 1:
        names = ", ".join(sorted(c.__name__ for c in leaves))
        raise NoStrategy(f"the program defines several strategies ({names}); keep exactly one")
    if not any("_step" in vars(c) for c in leaves[0].__mro__ if c.__module__ == module.__name__):
        raise NoStrategy(f"{leaves[0].__name__} does not define _step(last_cluster_type, has_spot)")
    return leaves[0]


def strategy_problem() -> str | None:
    """Why the program cannot be run as a strategy, or None when it can."""
    try:
        find_strategy(sys.modules[PROGRAM_MODULE])
    except NoStrategy as exc:
        return str(exc)
    return None


class StrategyFleet:
    """One fresh strategy per run, each reset with its own env and task, as the published simulator does."""

    def __init__(self, gap_seconds: float, task_hours: float, runs: list[list[float]]) -> None:
        strategy_cls = find_strategy(sys.modules[PROGRAM_MODULE])
        self.envs: list[MultiTraceEnv] = []
        self.strategies: list[Strategy] = []
        self.progress: list[list[float]] = []
        self.decide: list[Any] = []
        for deadline_hours, overhead_hours, zones in runs:
            args = argparse.Namespace(
                deadline_hours=deadline_hours,
                task_duration_hours=[task_hours],
                restart_overhead_hours=[overhead_hours],
                inter_task_overhead=[0.0],
                region_switch_overhead_hours=0.0,
            )
            strategy = strategy_cls(args)
            env = MultiTraceEnv(gap_seconds, int(zones))
            task = Task(task_hours * 3600)
            # The leaderboard's simulate() resets a strategy twice before its run; kept for
            # policies whose reset is not idempotent.
            strategy.reset(env, task)
            strategy.reset(env, task)
            self.envs.append(env)
            self.strategies.append(strategy)
            self.progress.append(strategy.task_done_time)
            self.decide.append(strategy._step)

    def step(self, tick: int, elapsed: float, runs: np.ndarray, running: np.ndarray, zone: np.ndarray,
             pending: np.ndarray, work: np.ndarray, last: np.ndarray, has_spot: np.ndarray,
             spots: np.ndarray) -> dict[str, Any]:
        """One tick of the listed runs: decision codes and final zones, or the first invalid answer explained."""
        decisions, moves = [], []
        for position, (k, now, region, overhead, credited, before, spot, zones_now) in enumerate(zip(
                runs.tolist(), running.tolist(), zone.tolist(), pending.tolist(), work.tolist(), last.tolist(),
                has_spot.tolist(), spots.tolist())):
            env = self.envs[k]
            env.tick = tick
            env.elapsed_seconds = elapsed
            env.cluster_type = CLUSTER_TYPES[now]
            env._region = region
            env._spots = zones_now[:env.get_num_regions()]
            self.strategies[k].remaining_restart_overhead = overhead
            self.progress[k].append(credited)
            try:
                request = self.decide[k](CLUSTER_TYPES[before], spot)
            except InvalidRegion as exc:
                return {"run": position, "error": f"tick {tick}: {exc}"}
            try:
                decisions.append(_CODES[request])
            except (KeyError, TypeError):
                return {"run": position, "error": f"_step returned {request!r:.200} at tick {tick}; expected a ClusterType"}
            target = env._region
            if type(target) is not int or not 0 <= target < env.get_num_regions():
                return {"run": position, "error": f"the env's zone {target!r:.200} at tick {tick} is not a zone index"}
            moves.append(STAY if target == region else target)
        return {"decisions": np.array(decisions, dtype=np.int8), "moves": np.array(moves, dtype=np.int64)}

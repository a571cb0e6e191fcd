"""The program's strategy on the candidate's side: one instance per run, all stepped together.

The scorer (evaluate.py, sky_spot.simulation) keeps the traces and the true state of every
run. Each tick it sends, for all unfinished runs in one round trip, what a published
strategy may see: the clock, what is running, the pending restart overhead, the progress
just credited and the current tick's spot availability. This module rebuilds the published
view from those numbers (`self.env`, `self.task_done_time`, `self.remaining_restart_overhead`)
and calls `_step`; the scorer checks every answer and applies the rules itself, so nothing
done here, or to this module, changes how a decision is billed.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import Any

import numpy as np

from sky_spot.cluster_type import CLUSTER_TYPES
from sky_spot.env import TraceEnv
from sky_spot.strategies.strategy import Strategy
from sky_spot.task import Task

PROGRAM_MODULE = "candidate"  # the name under which the framework loads the program
_CODES = {kind: code for code, kind in enumerate(CLUSTER_TYPES)}


class NoStrategy(Exception):
    """The program defines no usable Strategy subclass, or several."""


def find_strategy(module: ModuleType) -> type[Strategy]:
    """The one concrete Strategy subclass the program defines."""
    defined = [
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy
        and obj.__module__ == module.__name__
    ]
    leaves = [c for c in defined if not any(o is not c and issubclass(o, c) for o in defined)]
    if not leaves:
        raise NoStrategy(
            "the program defines no subclass of sky_spot.strategies.strategy.Strategy "
            "with a _step(self, last_cluster_type, has_spot) method"
        )
    if len(leaves) > 1:
        names = ", ".join(sorted(c.__name__ for c in leaves))
        raise NoStrategy(f"the program defines several strategies ({names}); keep exactly one")
    if "_step" not in {k for c in leaves[0].__mro__ if c is not Strategy for k in vars(c)}:
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
        self.envs: list[TraceEnv] = []
        self.strategies: list[Strategy] = []
        self.progress: list[list[float]] = []
        self.decide: list[Any] = []
        for deadline_hours, overhead_hours in runs:
            args = argparse.Namespace(
                deadline_hours=deadline_hours,
                task_duration_hours=[task_hours],
                restart_overhead_hours=[overhead_hours],
                inter_task_overhead=[0.0],
            )
            strategy = strategy_cls(args)
            env = TraceEnv(gap_seconds)
            strategy.reset(env, Task(task_hours * 3600))
            self.envs.append(env)
            self.strategies.append(strategy)
            self.progress.append(strategy.task_done_time)
            self.decide.append(strategy._step)
        # Progress is mostly the same few values; one object per value keeps the 1,000-odd
        # lists that strategies sum every tick small enough to stay in the CPU's caches.
        self.shared_floats: dict[float, float] = {}

    def step(self, tick: int, elapsed: float, runs: np.ndarray, running: np.ndarray, pending: np.ndarray,
             work: np.ndarray, last: np.ndarray, has_spot: np.ndarray) -> Any:
        """One tick of the listed runs: their decisions as codes, or the first invalid one explained."""
        decisions = []
        shared = self.shared_floats
        for position, (k, now, overhead, credited, before, spot) in enumerate(zip(
                runs.tolist(), running.tolist(), pending.tolist(), work.tolist(), last.tolist(), has_spot.tolist())):
            env = self.envs[k]
            env.tick = tick
            env.elapsed_seconds = elapsed
            env.cluster_type = CLUSTER_TYPES[now]
            self.strategies[k].remaining_restart_overhead = overhead
            self.progress[k].append(shared.setdefault(credited, credited))
            request = self.decide[k](CLUSTER_TYPES[before], spot)
            try:
                decisions.append(_CODES[request])
            except (KeyError, TypeError):
                return {"run": position, "error": f"_step returned {request!r:.200} at tick {tick}; expected a ClusterType"}
        return np.array(decisions, dtype=np.int8)

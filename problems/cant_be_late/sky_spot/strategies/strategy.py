"""Base class of a scheduling policy, with the attributes published policies read.

Subclasses define `_step(self, last_cluster_type, has_spot) -> ClusterType`. The
strategy runs in the candidate's process; the simulator (sky_spot.simulation) runs in the
scorer's, drives the tick loop itself and only asks `_step` for a decision, so billing,
progress and the deadline safety net cannot be bypassed by overriding methods here.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sky_spot.cluster_type import ClusterType
from sky_spot.task import Task

# ClusterType is re-exported: upstream policies also import it from this module.
__all__ = ["ClusterType", "Strategy"]

if TYPE_CHECKING:
    from sky_spot.env import TraceEnv


class Strategy:
    NAME = "abstract"

    def __init__(self, args: argparse.Namespace | None = None) -> None:
        self.args = args

    def reset(self, env: "TraceEnv", task: Task) -> None:
        """Bind a fresh run; subclasses that keep state override this and call super()."""
        args = self.args
        self.env = env
        self.task = task
        self.deadline: float = args.deadline_hours * 3600
        self.task_duration: float = task.get_total_duration_seconds()
        self.restart_overheads: list[float] = [h * 3600 for h in args.restart_overhead_hours]
        self.restart_overhead: float = self.restart_overheads[0]
        self.task_done_time: list[float] = []
        task.set_progress_source(self.task_done_time)
        self.remaining_restart_overhead: float = 0.0

    @property
    def task_done(self) -> bool:
        return self.task.is_done

    @property
    def name(self) -> str:
        return self.NAME

    @classmethod
    def _from_args(cls, parser: argparse.ArgumentParser) -> "Strategy":
        args, _ = parser.parse_known_args()
        return cls(args)

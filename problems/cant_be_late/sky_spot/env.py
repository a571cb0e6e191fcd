"""What a strategy may see of the environment: the clock and what is running.

A read-only view in the candidate's process, refilled by sky_spot.fleet each tick from
what the scorer sends. The availability trace itself stays with the scorer, so a policy
sees only the current tick's `has_spot`, as in the published setting.
"""

from __future__ import annotations

from sky_spot.cluster_type import ClusterType


class TraceEnv:
    __slots__ = ("gap_seconds", "tick", "elapsed_seconds", "cluster_type")

    def __init__(self, gap_seconds: float) -> None:
        self.gap_seconds = float(gap_seconds)
        self.tick = 0
        self.elapsed_seconds = 0.0
        self.cluster_type = ClusterType.NONE

    def get_num_regions(self) -> int:
        return 1

    def get_current_region(self) -> int:
        return 0

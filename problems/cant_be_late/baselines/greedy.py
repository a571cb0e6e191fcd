"""Greedy baseline of the ADRS leaderboard: spot whenever it is there, otherwise wait,
and move to on-demand only when the deadline leaves no room for another restart."""

import math

from sky_spot.strategies.strategy import Strategy
from sky_spot.utils import ClusterType


class GreedySafetyStrategy(Strategy):
    NAME = "greedy_safety"

    def _step(self, last_cluster_type: ClusterType, has_spot: bool) -> ClusterType:
        env = self.env
        gap = env.gap_seconds
        work_left = self.task_duration - sum(self.task_done_time)
        if work_left <= 1e-9:
            return ClusterType.NONE
        ticks_left = max(0, math.floor((self.deadline - env.elapsed_seconds) / gap))
        ticks_one_restart = math.ceil((work_left + self.restart_overhead) / gap)
        ticks_two_restarts = math.ceil((work_left + 2 * self.restart_overhead) / gap)
        if ticks_one_restart >= ticks_left:
            return ClusterType.ON_DEMAND
        if ticks_two_restarts >= ticks_left:
            if env.cluster_type == ClusterType.SPOT and has_spot:
                return ClusterType.SPOT
            return ClusterType.ON_DEMAND
        return ClusterType.SPOT if has_spot else ClusterType.NONE

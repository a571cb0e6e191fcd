"""Seed strategy: the leaderboard's greedy baseline, written with tunable constants."""

import math

from sky_spot.strategies.strategy import Strategy
from sky_spot.utils import ClusterType

# EVOLVE-BLOCK-START
# Restarts of margin kept before the deadline when leaving spot for on-demand.
SAFETY_RESTARTS = 2.0
# Extra ticks of margin on top of the restarts.
SAFETY_TICKS = 0
# Without spot, run on-demand when progress falls below this fraction of the uniform
# progress line task_duration * t / deadline (0 disables: wait for spot instead).
LINE_FRACTION = 0.0


class EvolvedStrategy(Strategy):
    NAME = "evolved"

    def _step(self, last_cluster_type: ClusterType, has_spot: bool) -> ClusterType:
        env = self.env
        gap = env.gap_seconds
        done = sum(self.task_done_time)
        work_left = self.task_duration - done
        if work_left <= 1e-9:
            return ClusterType.NONE
        ticks_left = max(0, math.floor((self.deadline - env.elapsed_seconds) / gap))
        ticks_needed = math.ceil((work_left + self.restart_overhead) / gap)
        ticks_with_margin = math.ceil((work_left + SAFETY_RESTARTS * self.restart_overhead) / gap) + SAFETY_TICKS
        if ticks_needed >= ticks_left:
            return ClusterType.ON_DEMAND
        if ticks_with_margin >= ticks_left:
            if env.cluster_type == ClusterType.SPOT and has_spot:
                return ClusterType.SPOT
            return ClusterType.ON_DEMAND
        if has_spot:
            return ClusterType.SPOT
        line = self.task_duration * env.elapsed_seconds / self.deadline
        if done < LINE_FRACTION * line:
            return ClusterType.ON_DEMAND
        return ClusterType.NONE
# EVOLVE-BLOCK-END

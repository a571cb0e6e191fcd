"""The ADRS leaderboard's multi-region baseline: progress-line catch-up plus zone hopping.

Behind the uniform progress line task_duration * t / deadline: spot if the current zone
has it, else on-demand. On or ahead of the line: spot if the zone has it, else move to the
next zone (round robin) and wait there. The simulator's safety net forces on-demand near
the deadline.
"""

from sky_spot.strategies.multi_strategy import MultiRegionStrategy
from sky_spot.utils import ClusterType


class RoundRobinUniformStrategy(MultiRegionStrategy):
    NAME = "round_robin_uniform"

    def _behind_schedule(self) -> bool:
        t = self.env.elapsed_seconds
        if t >= self.deadline:
            return True
        if t == 0:
            return False
        return sum(self.task_done_time) < t * self.task_duration / self.deadline

    def _step(self, last_cluster_type: ClusterType, has_spot: bool) -> ClusterType:
        if self.task_done:
            return ClusterType.NONE
        if has_spot:
            return ClusterType.SPOT
        if self._behind_schedule():
            return ClusterType.ON_DEMAND
        env = self.env
        env.switch_region((env.get_current_region() + 1) % env.get_num_regions())
        return ClusterType.NONE

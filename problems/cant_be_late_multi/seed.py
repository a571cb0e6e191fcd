"""Seed strategy: the leaderboard's multi-region baseline, written with tunable constants."""

from sky_spot.strategies.multi_strategy import MultiRegionStrategy
from sky_spot.utils import ClusterType

# EVOLVE-BLOCK-START
# Run on-demand (when the zone has no spot) once progress is below this fraction of the
# uniform progress line task_duration * t / deadline.
LINE_FRACTION = 1.0
# Seconds of progress the job may lag the line before it counts as behind.
LAG_ALLOWANCE_SECONDS = 0.0
# How many zones to move forward (round robin) when the current zone has no spot.
ZONE_STEP = 1


class EvolvedStrategy(MultiRegionStrategy):
    NAME = "evolved_multi"

    def _behind_schedule(self) -> bool:
        t = self.env.elapsed_seconds
        if t >= self.deadline:
            return True
        if t == 0:
            return False
        line = t * self.task_duration / self.deadline
        return sum(self.task_done_time) + LAG_ALLOWANCE_SECONDS < LINE_FRACTION * line

    def _step(self, last_cluster_type: ClusterType, has_spot: bool) -> ClusterType:
        if self.task_done:
            return ClusterType.NONE
        if has_spot:
            return ClusterType.SPOT
        if self._behind_schedule():
            return ClusterType.ON_DEMAND
        env = self.env
        env.switch_region((env.get_current_region() + ZONE_STEP) % env.get_num_regions())
        return ClusterType.NONE
# EVOLVE-BLOCK-END

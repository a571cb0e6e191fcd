"""Uniform Progress (Can't Be Late, NSDI'24): keep progress cp(t) on the line ep(t) = T*t/D.

The paper's four rules:
1. Uniform progress: with no spot and cp(t) < ep(t), run on-demand to catch up.
2. Taking risks: take spot whenever it is available, even when behind the line.
3. Hysteresis: once on on-demand (and spot is gone), stay until cp(t) > ep(t + 2d), so a
   short catch-up does not end one tick before it has paid for its restart.
4. Safety net: when idle and the time left R(t) < C(t) + 2d (work left plus two
   restarts), switch to on-demand and stay there until the end.
"""

from sky_spot.strategies.strategy import Strategy
from sky_spot.utils import ClusterType


class UniformProgressStrategy(Strategy):
    NAME = "uniform_progress"

    def reset(self, env, task):
        super().reset(env, task)
        self.committed_to_on_demand = False

    def _step(self, last_cluster_type: ClusterType, has_spot: bool) -> ClusterType:
        env = self.env
        done = sum(self.task_done_time)
        work_left = self.task_duration - done
        if work_left <= 1e-3:
            return ClusterType.NONE
        t = env.elapsed_seconds
        d = self.restart_overhead
        idle = env.cluster_type == ClusterType.NONE
        if idle and self.deadline - t < work_left + 2 * d:
            self.committed_to_on_demand = True
        if self.committed_to_on_demand:
            return ClusterType.ON_DEMAND
        if has_spot:
            return ClusterType.SPOT
        rate = self.task_duration / self.deadline
        if t * rate - done > 0:
            return ClusterType.ON_DEMAND
        if env.cluster_type == ClusterType.ON_DEMAND and (t + 2 * d) * rate - done >= 0:
            return ClusterType.ON_DEMAND
        return ClusterType.NONE

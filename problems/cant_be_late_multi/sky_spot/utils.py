"""Instance types a policy can ask for, and the prices the simulator bills.

The module is named utils because published strategies import
`from sky_spot.utils import ClusterType`; keeping the path lets them run unchanged.
"""

from __future__ import annotations

import enum


class ClusterType(enum.Enum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"
    NONE = "none"


ON_DEMAND_PRICE_PER_HOUR = 3.06
# The single-region spot price; the multi-region score keeps it as its anchor, while a
# run's spot ticks are billed at the price of the zone it ends in (the leaderboard's rule).
SPOT_PRICE_PER_HOUR = 0.9731

# The order in which instance types travel as numbers between the scorer and the
# candidate's process (the code of a type is its index here).
CLUSTER_TYPES = (ClusterType.NONE, ClusterType.SPOT, ClusterType.ON_DEMAND)

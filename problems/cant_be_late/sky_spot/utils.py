"""Instance types a policy can ask for, and what each costs per hour.

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
SPOT_PRICE_PER_HOUR = 0.9731

COSTS = {
    ClusterType.ON_DEMAND: ON_DEMAND_PRICE_PER_HOUR,
    ClusterType.SPOT: SPOT_PRICE_PER_HOUR,
    ClusterType.NONE: 0.0,
}

# The order in which instance types travel as numbers between the scorer and the
# candidate's process (the code of a type is its index here).
CLUSTER_TYPES = (ClusterType.NONE, ClusterType.SPOT, ClusterType.ON_DEMAND)

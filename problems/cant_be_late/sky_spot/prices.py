"""What the simulator bills per hour of each instance type."""

from __future__ import annotations

from sky_spot.cluster_type import ClusterType

ON_DEMAND_PRICE_PER_HOUR = 3.06
SPOT_PRICE_PER_HOUR = 0.9731

COSTS = {
    ClusterType.ON_DEMAND: ON_DEMAND_PRICE_PER_HOUR,
    ClusterType.SPOT: SPOT_PRICE_PER_HOUR,
    ClusterType.NONE: 0.0,
}

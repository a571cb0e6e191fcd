"""Instance types a policy can ask for, and the order in which they travel as numbers."""

from __future__ import annotations

import enum


class ClusterType(enum.Enum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"
    NONE = "none"


# The order in which instance types travel as numbers between the scorer and the
# candidate's process (the code of a type is its index here).
CLUSTER_TYPES = (ClusterType.NONE, ClusterType.SPOT, ClusterType.ON_DEMAND)

"""The import path published strategies use: `from sky_spot.utils import ClusterType`.

Only that name lives on here, so they run unchanged; the type itself is in cluster_type.
"""

from sky_spot.cluster_type import ClusterType

__all__ = ["ClusterType"]

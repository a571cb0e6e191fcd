"""What a multi-region strategy may see: the clock, what runs, and which zone it is in.

A read-only view in the candidate's process, refilled by sky_spot.fleet each tick from
what the scorer sends; a move asked for with `switch_region` is read back from it. The
availability traces stay with the scorer: `has_spot` describes the current zone at the
current tick only.
"""

from __future__ import annotations

from sky_spot.utils import ClusterType


class InvalidRegion(ValueError):
    """switch_region was given an index outside 0..num_regions-1."""


class MultiTraceEnv:
    __slots__ = ("gap_seconds", "tick", "elapsed_seconds", "cluster_type", "_num_regions",
                 "_region", "requested_region")

    def __init__(self, gap_seconds: float, num_regions: int) -> None:
        self.gap_seconds = float(gap_seconds)
        self.tick = 0
        self.elapsed_seconds = 0.0
        self.cluster_type = ClusterType.NONE
        self._num_regions = num_regions
        self._region = 0
        self.requested_region: int | None = None

    def get_num_regions(self) -> int:
        return self._num_regions

    def get_current_region(self) -> int:
        return self._region

    def switch_region(self, index: int) -> None:
        """Move to zone `index` at the next tick; this tick's interval is then idle."""
        if not isinstance(index, int) or not 0 <= index < self._num_regions:
            raise InvalidRegion(f"switch_region({index!r}): zones are 0..{self._num_regions - 1}")
        self.requested_region = index if index != self._region else None

"""What a multi-region strategy may see: the clock, what runs, its zone, and spot now.

A view in the candidate's process, refilled by sky_spot.fleet each tick from what the
scorer sends. As in the leaderboard's simulator, `switch_region` takes effect at once (the
view's zone changes and `spot_available()` answers for the new zone in the same tick) and
returns True; the zone the view is in when `_step` returns is the move read back. Every
zone's availability at the current tick is here (the leaderboard exposes it through
`get_all_regions_spot_available`); later ticks of the traces stay with the scorer.
"""

from __future__ import annotations

from sky_spot.cluster_type import ClusterType


class InvalidRegion(ValueError):
    """A zone index outside 0..num_regions-1 was asked for."""


class MultiTraceEnv:
    __slots__ = ("gap_seconds", "tick", "elapsed_seconds", "cluster_type", "_num_regions", "_region", "_spots")

    def __init__(self, gap_seconds: float, num_regions: int) -> None:
        self.gap_seconds = float(gap_seconds)
        self.tick = 0
        self.elapsed_seconds = 0.0
        self.cluster_type = ClusterType.NONE
        self._num_regions = num_regions
        self._region = 0
        self._spots: list[bool] = [False] * num_regions

    def _checked(self, index: object) -> int:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self._num_regions:
            raise InvalidRegion(f"zone {index!r} does not exist: zones are 0..{self._num_regions - 1}")
        return index

    def get_num_regions(self) -> int:
        return self._num_regions

    def get_current_region(self) -> int:
        return self._region

    def switch_region(self, index: int) -> bool:
        """Move to zone `index` now; spot may be launched there in this same tick."""
        self._region = self._checked(index)
        return True

    def spot_available(self) -> bool:
        return self._spots[self._region]

    def spot_available_in_region(self, index: int) -> bool:
        return self._spots[self._checked(index)]

    def get_all_regions_spot_available(self) -> list[bool]:
        return list(self._spots)

"""Base class of a multi-region policy: a Strategy whose env can move between zones."""

from __future__ import annotations

import argparse

from sky_spot.strategies.strategy import Strategy


class MultiRegionStrategy(Strategy):
    """Reads `self.env.get_num_regions()`, `get_current_region()`; moves with `switch_region(i)`.

    The leaderboard's scenarios set no extra overhead for a zone move; the attribute is
    kept because published policies may read it.
    """

    NAME = "multi_region_strategy"

    def __init__(self, args: argparse.Namespace | None = None) -> None:
        super().__init__(args)
        self.last_startup_region: int | None = None
        self.migration_overhead_seconds: float = getattr(args, "region_switch_overhead_hours", 0.0) * 3600

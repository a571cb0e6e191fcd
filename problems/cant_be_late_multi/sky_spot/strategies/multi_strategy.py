"""Base class of a multi-region policy: a Strategy whose env can move between zones."""

from __future__ import annotations

from sky_spot.strategies.strategy import Strategy


class MultiRegionStrategy(Strategy):
    """Reads `self.env.get_num_regions()`, `get_current_region()`; moves with `switch_region(i)`."""

    NAME = "multi_region_strategy"

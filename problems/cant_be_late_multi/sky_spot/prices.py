"""What the simulator bills per hour of each instance type."""

from __future__ import annotations

ON_DEMAND_PRICE_PER_HOUR = 3.06
# The single-region spot price; the multi-region score keeps it as its anchor, while a
# run's spot ticks are billed at the price of the zone it ends in (the leaderboard's rule).
SPOT_PRICE_PER_HOUR = 0.9731

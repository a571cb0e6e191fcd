"""Strategy base classes (`from sky_spot.strategies import strategy` works as upstream)."""

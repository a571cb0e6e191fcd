"""First fit: the lowest-index bin that can take the item."""

import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    return -np.arange(bins.size, dtype=np.float64)

"""Best fit: the fullest bin that can still take the item."""

import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    return -(bins - item)

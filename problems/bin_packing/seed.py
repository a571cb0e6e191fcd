"""Online bin packing priority: the item goes to the feasible bin with the highest score."""

import numpy as np


# EVOLVE-BLOCK-START
def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Best fit: prefer the bin the item fills most tightly.

    bins holds the remaining capacities of the bins that can take the item (empty bins
    included); return one finite score per bin.
    """
    gap = bins - item
    score = -1.0 * gap + 0.0 * bins / (item + 1.0)
    return score
# EVOLVE-BLOCK-END

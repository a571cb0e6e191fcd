"""Online bin packing priority: the item goes to the feasible bin with the highest score."""

import numpy as np


# EVOLVE-BLOCK-START
def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Best fit: prefer the bin the item fills most tightly.

    bins holds the remaining capacities of the bins that can take the item (empty bins
    included); return one finite score per bin. A gap left below `small` is hard to fill
    later; `waste_weight` could penalise leaving one, but at 0.0 this is exactly best fit.
    """
    gap = bins - item
    small = 20.0
    waste_weight = 0.0
    score = -1.0 * gap - waste_weight * ((gap > 0) & (gap < small))
    return score
# EVOLVE-BLOCK-END

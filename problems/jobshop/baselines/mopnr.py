"""MOR / MOPNR, most operations remaining: the job with the most unscheduled operations."""

import numpy as np


def priority(ops: dict[str, np.ndarray]) -> np.ndarray:
    return ops["ops_remaining"]

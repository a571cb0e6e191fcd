"""MWKR, most work remaining: the job with the largest sum of unscheduled durations."""

import numpy as np


def priority(ops: dict[str, np.ndarray]) -> np.ndarray:
    return ops["work_remaining"]

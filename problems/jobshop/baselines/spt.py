"""SPT, shortest processing time: the offered operation with the smallest duration."""

import numpy as np


def priority(ops: dict[str, np.ndarray]) -> np.ndarray:
    return -ops["duration"]

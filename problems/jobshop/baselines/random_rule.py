"""Random: uniform scores, drawn from a generator seeded by the state offered.

The seed is a function of the offer alone, so the rule keeps no state across calls and
every evaluation of it gives the same schedules.
"""

import numpy as np


def priority(ops: dict[str, np.ndarray]) -> np.ndarray:
    count = ops["duration"].size
    seed = int(ops["time"]) * 100_003 + int(ops["work_remaining"].sum()) + count
    return np.random.default_rng(seed).random(count)

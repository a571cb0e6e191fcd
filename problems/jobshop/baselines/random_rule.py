"""Random: uniform scores, drawn from a generator seeded by the state offered.

The seed is a function of the offer alone, so the rule keeps no state across calls and
every evaluation of it gives the same schedules.
"""

import numpy as np


def priority(ops: dict[str, np.ndarray]) -> np.ndarray:
    seed = int(ops["time"][0]) * 100_003 + int(ops["work_remaining"].sum()) + ops["job"].size
    return np.random.default_rng(seed).random(ops["job"].size)

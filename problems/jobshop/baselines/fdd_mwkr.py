"""FDD/MWKR: the smallest ratio of flow due date to work remaining.

The flow due date of an operation is the sum of its job's durations up to and including
it (all jobs are released at 0); dividing by the work remaining favours jobs that are
behind relative to how much they still have to do.
"""

import numpy as np


def priority(ops: dict[str, np.ndarray]) -> np.ndarray:
    flow_due_date = ops["work_done"] + ops["duration"]
    return -flow_due_date / ops["work_remaining"]

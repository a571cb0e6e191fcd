"""Job-shop dispatching priority: of the offered operations, the highest score is scheduled next."""

import numpy as np


# EVOLVE-BLOCK-START
def priority(ops: dict[str, np.ndarray]) -> np.ndarray:
    """Most work remaining (MWKR): finish the long jobs first so none is left trailing.

    One entry per offered operation in every array of `ops`; return one finite score per
    operation. `wait` is how long the operation would leave its machine idle beyond the
    earliest possible start now; `idle_weight` and `short_weight` could trade work
    remaining against that idleness and against the operation's length, but at 0.0 this
    is exactly MWKR.
    """
    wait = np.maximum(ops["job_ready"], ops["machine_ready"]) - ops["time"]
    idle_weight = 0.0
    short_weight = 0.0
    return ops["work_remaining"] - idle_weight * wait - short_weight * ops["duration"]
# EVOLVE-BLOCK-END

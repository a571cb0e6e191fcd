"""The best rule of an offline evolution run (`evolve run jobshop -n 40 -k 2 --seed 0`).

The offline mutator woke the seed's dormant idle term: an operation that would leave its
machine waiting is penalised 24.4 time units per unit of wait, so the rule almost always
takes an operation that can start soonest and uses most work remaining to choose among
them (close to a non-delay MWKR rule).
"""

import numpy as np


def priority(ops: dict[str, np.ndarray]) -> np.ndarray:
    wait = np.maximum(ops["job_ready"], ops["machine_ready"]) - ops["time"]
    return ops["work_remaining"] - 24.4 * wait

"""The candidate's side of one rebalance call: the program's placement, sent compactly.

Each call is timed on the scorer's clock, which includes sending the answer back; the
seed's log2phy alone is 58 x 256 x 33 int64 (3.9 MB). Integer arrays whose values fit
in int16 travel as int16, a quarter of the bytes, so the time a policy is charged is
mostly its own. Nothing here is trusted: the scorer validates the placement it receives,
and a program that rewrites this module only changes what it answers.
"""

from __future__ import annotations

import sys

import numpy as np

PROGRAM_MODULE = "candidate"  # the name the candidate's host gives the loaded program
SMALL = np.iinfo(np.int16)


def compact(value: object) -> object:
    """An integer array as int16 when its values fit, so fewer bytes travel back."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.size:
        if SMALL.min <= value.min() and value.max() <= SMALL.max:
            return value.astype(np.int16)
    return value


def rebalance(weight: np.ndarray, num_replicas: int, num_groups: int, num_nodes: int, num_gpus: int) -> object:
    """The program's (phy2log, log2phy, logcnt), its integer arrays narrowed where they fit."""
    program = sys.modules[PROGRAM_MODULE]
    answer = program.rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus)
    if isinstance(answer, tuple | list) and len(answer) == 3:
        return [compact(part) for part in answer]
    return answer

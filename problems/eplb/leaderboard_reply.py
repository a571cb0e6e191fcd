"""The candidate's side of one rebalance call on the leaderboard split, in torch.

The ADRS leaderboard calls ``rebalance_experts`` with a CPU int64 torch tensor and takes
torch tensors back, timing the call alone with ``time.perf_counter``. Its published
programs are written for that, so here the window becomes an int64 CPU tensor, the call is
timed on the same clock around the call alone, and the three maps go back as numpy,
narrowed like ``placement_reply``'s. The scorer validates the placement and bounds the
reported time by its own clock around the round trip; a program that rewrites this module
can still claim less time than it took, which is why only this split trusts it.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from placement_reply import PROGRAM_MODULE, compact


def _as_numpy(value: object) -> object:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def rebalance(weight: np.ndarray, num_replicas: int, num_groups: int, num_nodes: int,
              num_gpus: int) -> tuple[object, float]:
    """The program's (phy2log, log2phy, logcnt) as numpy, and the seconds the call took."""
    program = sys.modules[PROGRAM_MODULE]
    tensor = torch.tensor(weight)  # a fresh int64 CPU tensor, as the leaderboard builds its windows
    started = time.perf_counter()
    answer = program.rebalance_experts(tensor, num_replicas, num_groups, num_nodes, num_gpus)
    seconds = time.perf_counter() - started
    if isinstance(answer, tuple | list) and len(answer) == 3:
        return [compact(_as_numpy(part)) for part in answer], seconds
    return answer, seconds

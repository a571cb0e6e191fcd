"""The candidate's side of one placement call: the Model objects a placement program expects.

The scorer sends a test case as plain numbers. Here, in the candidate's process, they
become the leaderboard's `Model` dataclass (published programs read `m.model_size`,
`m.req_rate`, `m.slo` and return the very objects they were given), `random` is seeded,
and the program's compute_model_placement runs. The answer goes back as model indices per
GPU. Nothing here is trusted: the scorer checks every index and GPU id against its own copy
of the case and recomputes the pressures, so a program that edits the models' fields or
rewrites this module changes only what it answers.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass

GPU_MEM_SIZE = 80  # GB per GPU
PROGRAM_MODULE = "candidate"  # the name the candidate's host gives the loaded program
FOREIGN = -1  # the index sent for an object that is not one of the given models


@dataclass
class Model:
    """One model to place, with the leaderboard's field names and types."""

    model_name: str
    model_size: int  # GB
    req_rate: int  # requests per second
    slo: int  # latency target
    cur_gpu_id: int  # the model's index; may be ignored


def _gpu_key(key: object) -> int | str:
    return key if isinstance(key, int) and not isinstance(key, bool) else repr(key)[:40]


def place(gpu_num: int, sizes: Sequence[int], rates: Sequence[int], slos: Sequence[int], seed: int) -> list | str:
    """[[gpu_id, [model indices]], ...] from the program, or a one-line reason it is not a placement."""
    program = sys.modules[PROGRAM_MODULE]
    models = [Model(f"model_{j}", int(s), int(r), int(o), j) for j, (s, r, o) in enumerate(zip(sizes, rates, slos))]
    index_of = {id(model): j for j, model in enumerate(models)}
    random.seed(seed)
    answer = program.compute_model_placement(gpu_num=gpu_num, models=list(models))
    if not isinstance(answer, dict):
        return f"compute_model_placement must return a dict gpu_id -> list of models, got {type(answer).__name__}"
    placement = []
    for key, assigned in answer.items():
        if not isinstance(assigned, list):
            return f"GPU {_gpu_key(key)!r}: the value must be a list of models, got {type(assigned).__name__}"
        placement.append([_gpu_key(key), [index_of.get(id(model), FOREIGN) for model in assigned]])
    return placement

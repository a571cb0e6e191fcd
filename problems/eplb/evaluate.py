"""Scores an expert placement policy by next-window GPU balance and its own speed.

The placement computed from window i is scored on window i + 1 of a synthetic load
history (`load_history`), as in the published evaluator, so a policy is rewarded for
placements that stay balanced as the load drifts, not for fitting the window it saw.
The policy runs in its own process (`scoring: channel`) and sees only the window it is
given; each call is timed here, on the scorer's clock, so the time includes sending the
window and receiving the placement, and every placement is checked here. The
`leaderboard` split runs the ADRS leaderboard's torch programs unchanged and charges, as
it does, the call alone (`leaderboard_reply`), never more than this clock saw.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from expert_placement import balancedness, gpu_loads, require_coverage, validated_placement
from load_history import NUM_EXPERTS, NUM_GROUPS, NUM_LAYERS, load_history

from evolve.evaluators.candidate_view import missing_packages
from evolve.evaluators.contract import InvalidProgram, StageUnavailable

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate

NUM_REPLICAS = 288
NUM_NODES = 4
NUM_GPUS = 32
# leaderboard: the test history through the ADRS leaderboard's torch interface and timing
HISTORIES = {"train": (11, 8), "test": (29, 24), "leaderboard": (29, 24)}  # split: (generator seed, windows)
TIME_BUDGET_S = {"train": 20.0, "test": 60.0, "leaderboard": 600.0}
WORST_SHOWN = 5
CANDIDATE_CALL = "placement_reply:rebalance"
LEADERBOARD_CALL = "leaderboard_reply:rebalance"
LEADERBOARD_PACKAGES = ["torch"]  # candidate.on_demand_packages: needed by this split alone


def split_history(split: str) -> np.ndarray:
    if split not in HISTORIES:
        raise ValueError(f"unknown split {split!r}; use 'train', 'test' or 'leaderboard'")
    seed, windows = HISTORIES[split]
    return load_history(seed, windows)


def published_score(gpu_balancedness: float, seconds_per_call: float) -> dict[str, float]:
    """The published 0-100 scale: 90 x balancedness + up to 10 for speed - a slowness penalty."""
    speed = min(0.002 / seconds_per_call, 2.0) * 5.0 if seconds_per_call > 0 else 10.0
    penalty = min(seconds_per_call * 20.0, 20.0) if seconds_per_call > 0.01 else 0.0
    return {
        "score": 90.0 * gpu_balancedness + speed - penalty,
        "speed_score": speed,
        "slow_penalty": penalty,
    }


def _timed_call(candidate: Candidate, split: str, window: np.ndarray) -> tuple[object, float, float]:
    """The placement, the seconds charged for it and the scorer's round trip.

    On train and test the charge is the round trip; on the leaderboard split it is the time
    the candidate's side reports for the call alone, as the leaderboard times it, and never
    more than the round trip the scorer saw.
    """
    args = (window, NUM_REPLICAS, NUM_GROUPS, NUM_NODES, NUM_GPUS)
    started = time.perf_counter()
    if split != "leaderboard":
        answer = candidate.call(CANDIDATE_CALL, *args)
        round_trip = time.perf_counter() - started
        return answer, round_trip, round_trip
    reply = candidate.call(LEADERBOARD_CALL, *args)
    round_trip = time.perf_counter() - started
    if not isinstance(reply, list | tuple) or len(reply) != 2:
        raise InvalidProgram("leaderboard_reply.rebalance must answer (placement, seconds)")
    answer, claimed = reply
    if isinstance(claimed, bool) or not isinstance(claimed, int | float) or not 0 <= claimed <= round_trip:
        raise InvalidProgram(f"the reported call time {claimed!r} is not between 0 and the "
                             f"{round_trip:.4f} s the scorer measured around it")
    return answer, float(claimed), round_trip


def _require_split_packages(split: str) -> None:
    missing = missing_packages(LEADERBOARD_PACKAGES) if split == "leaderboard" else []
    if missing:
        raise StageUnavailable(f"the leaderboard split runs its programs on {', '.join(missing)} tensors, "
                               f"not installed here: pip install {' '.join(missing)}")


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    """score = 90 x mean GPU balancedness + min(0.002 / t, 2) x 5 - (min(20 t, 20) if t > 10 ms),
    t = mean seconds per rebalance_experts call."""
    history = split_history(split)
    _require_split_packages(split)
    if not candidate.has("rebalance_experts"):
        raise InvalidProgram(
            "the program must define rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus)"
        )
    budget = TIME_BUDGET_S[split]
    gpu_scores, slot_scores, seconds, round_trips, worst = [], [], [], [], []
    for step in range(len(history) - 1):
        answer, charged, round_trip = _timed_call(candidate, split, history[step])
        seconds.append(charged)
        round_trips.append(round_trip)
        if sum(round_trips) > budget:
            raise InvalidProgram(f"rebalance_experts exceeded the {budget:.0f} s budget after {step + 1} calls")
        placement = validated_placement(answer, NUM_LAYERS, NUM_EXPERTS, NUM_REPLICAS)
        require_coverage(placement, history[step], f"window {step}")
        require_coverage(placement, history[step + 1], f"window {step + 1}")
        loads = gpu_loads(placement, history[step + 1], NUM_GPUS)
        gpu_scores.append(balancedness(loads))
        slot_scores.append(balancedness(gpu_loads(placement, history[step + 1], NUM_REPLICAS)))
        ratios = loads.max(axis=1) / loads.mean(axis=1)
        for layer in np.argsort(-ratios)[:WORST_SHOWN]:
            hottest = int(history[step + 1, layer].argmax())
            worst.append((float(ratios[layer]), step, int(layer), hottest, int(placement.logcnt[layer, hottest])))
    gpu_balancedness = float(np.mean(gpu_scores))
    mean_seconds = float(np.mean(seconds))
    result = {
        "balancedness_gpu": gpu_balancedness,
        "balancedness_slot": float(np.mean(slot_scores)),
        "seconds_per_call": mean_seconds,
        "round_trip_seconds_per_call": float(np.mean(round_trips)),
        **published_score(gpu_balancedness, mean_seconds),
        "instances": {f"window {i + 1}": float(b) for i, b in enumerate(gpu_scores)},
    }
    worst.sort(reverse=True)
    result["artifacts"] = {
        "steps": "\n".join(
            f"window {i} -> {i + 1}: GPU balancedness {b:.4f}, {1000 * s:.1f} ms"
            for i, (b, s) in enumerate(zip(gpu_scores, seconds))
        ),
        "worst_layers": "\n".join(
            f"window {step + 1} layer {layer}: max GPU load {ratio:.2f}x the mean; its hottest "
            f"expert {expert} had {count} replica(s)"
            for ratio, step, layer, expert, count in worst[:WORST_SHOWN]
        ),
    }
    return result

"""Checks a replica placement and measures how evenly it spreads a window's load.

Load model (as in the published evaluator): an expert's load splits evenly over its
replicas; a GPU's load is the sum over its slots (slot s lives on GPU s // slots_per_gpu).
Balancedness = sum over layers of mean GPU load / sum over layers of max GPU load.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolve.evaluators.contract import InvalidProgram


@dataclass(frozen=True)
class Placement:
    phy2log: np.ndarray  # [L, R] logical expert held by each physical slot
    log2phy: np.ndarray  # [L, E, X] slots of each expert's replicas, -1 padded
    logcnt: np.ndarray  # [L, E] replicas per expert


def _integer_array(value: object, name: str, ndim: int) -> np.ndarray:
    try:
        array = np.asarray(value)
    except Exception as error:
        raise InvalidProgram(f"{name} cannot be read as an array: {error}") from None
    if array.dtype.kind not in "iu":
        raise InvalidProgram(f"{name} must hold integers, got dtype {array.dtype}")
    if array.ndim != ndim:
        raise InvalidProgram(f"{name} must have {ndim} dimensions, got shape {array.shape}")
    return array.astype(np.int64)


def validated_placement(answer: object, num_layers: int, num_experts: int, num_replicas: int) -> Placement:
    """The (phy2log, log2phy, logcnt) triple if all three agree, else InvalidProgram."""
    if not isinstance(answer, tuple | list) or len(answer) != 3:
        raise InvalidProgram("rebalance_experts must return (phy2log, log2phy, logcnt)")
    phy2log = _integer_array(answer[0], "phy2log", 2)
    log2phy = _integer_array(answer[1], "log2phy", 3)
    logcnt = _integer_array(answer[2], "logcnt", 2)
    if phy2log.shape != (num_layers, num_replicas):
        raise InvalidProgram(f"phy2log shape {phy2log.shape}, expected {(num_layers, num_replicas)}")
    if logcnt.shape != (num_layers, num_experts):
        raise InvalidProgram(f"logcnt shape {logcnt.shape}, expected {(num_layers, num_experts)}")
    if log2phy.shape[:2] != (num_layers, num_experts) or log2phy.shape[2] < max(1, int(logcnt.max())):
        raise InvalidProgram(
            f"log2phy shape {log2phy.shape}, expected ({num_layers}, {num_experts}, X) with "
            f"X >= the largest replica count {int(logcnt.max())}"
        )
    if phy2log.min() < 0 or phy2log.max() >= num_experts:
        raise InvalidProgram(f"phy2log holds expert ids outside 0..{num_experts - 1}")
    counted = np.zeros((num_layers, num_experts), dtype=np.int64)
    np.add.at(counted, (np.arange(num_layers)[:, None], phy2log), 1)
    if not np.array_equal(counted, logcnt):
        layer = int(np.flatnonzero((counted != logcnt).any(axis=1))[0])
        raise InvalidProgram(
            f"logcnt disagrees with phy2log (layer {layer}): logcnt must count each expert's "
            f"slots, and rows must sum to {num_replicas}"
        )
    used = np.arange(log2phy.shape[2]) < logcnt[:, :, None]
    if (log2phy[~used] != -1).any():
        raise InvalidProgram("log2phy entries past an expert's replica count must be -1")
    slots = log2phy[used].reshape(num_layers, num_replicas)
    if slots.min() < 0 or slots.max() >= num_replicas:
        raise InvalidProgram(f"log2phy holds slot ids outside 0..{num_replicas - 1}")
    owners = np.broadcast_to(np.arange(num_experts)[None, :, None], log2phy.shape)[used]
    layers = np.broadcast_to(np.arange(num_layers)[:, None, None], log2phy.shape)[used]
    if not np.array_equal(phy2log[layers, log2phy[used]], owners):
        raise InvalidProgram("log2phy and phy2log disagree: a listed replica slot holds another expert")
    if not (np.sort(slots, axis=1) == np.arange(num_replicas)).all():
        raise InvalidProgram("log2phy must list every physical slot exactly once per layer")
    return Placement(phy2log, log2phy, logcnt)


def require_coverage(placement: Placement, load: np.ndarray, window: str) -> None:
    """Load on an expert without a replica would be dropped, which no placement may do."""
    orphaned = (load > 0) & (placement.logcnt == 0)
    if orphaned.any():
        layer, expert = (int(v[0]) for v in np.nonzero(orphaned))
        raise InvalidProgram(
            f"{int(orphaned.sum())} experts with load in {window} have no replica "
            f"(e.g. layer {layer}, expert {expert})"
        )


def gpu_loads(placement: Placement, load: np.ndarray, num_gpus: int) -> np.ndarray:
    """[L, num_gpus] load per GPU when each expert's load splits evenly over its replicas."""
    per_replica = load / np.maximum(placement.logcnt, 1)
    slot_load = np.take_along_axis(per_replica, placement.phy2log, axis=1)
    return slot_load.reshape(slot_load.shape[0], num_gpus, -1).sum(axis=2)


def balancedness(loads: np.ndarray) -> float:
    """Ratio of sums over layers: mean load / max load of the units along the last axis."""
    peak = float(loads.max(axis=1).sum())
    return float(loads.mean(axis=1).sum()) / peak if peak > 0 else 0.0

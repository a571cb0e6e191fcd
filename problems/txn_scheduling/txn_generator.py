"""Held-out workloads drawn to match the shapes of the three published ones.

The published workloads are the only ones the benchmark ships; evolving against them and
testing on fresh draws of the same shapes shows whether a scheduler generalises or has
memorised three orderings.
"""

from __future__ import annotations

import numpy as np

# Workload 1: every transaction touches 16 distinct keys; keys 1-4 are in all of them and
# key k <= 16 appears with the frequency observed in the published workload, the rest of
# the 16 slots go to a heavy tail of keys above 16 (median around 40, max in the
# thousands); 55 % of operations are writes. Hot keys sit near a fixed position (the mean
# position observed per key, jittered), tail keys anywhere.
HOT_KEY_SHARE = (1.0, 1.0, 1.0, 1.0, 0.92, 0.86, 0.84, 0.77, 0.70, 0.63, 0.51, 0.43, 0.44, 0.38, 0.33, 0.31)
HOT_KEY_POSITION = (9.9, 13.2, 2.0, 2.4, 2.1, 5.7, 8.5, 11.6, 11.9, 4.6, 6.5, 12.8, 12.8, 4.3, 14.1, 7.4)
POSITION_JITTER = 1.0
OPS_PER_TXN = 16
WRITE_SHARE = 0.55
TAIL_SCALE = 8.0
TAIL_SHAPE = 0.8
MAX_KEY = 5270


def hot_key_workload(seed: int, num_txns: int = 100) -> list[list[str]]:
    """Shape of published workload 1 (skewed read/write mix, 16 keys per transaction)."""
    rng = np.random.default_rng(seed)
    share = np.asarray(HOT_KEY_SHARE)
    transactions = []
    for _ in range(num_txns):
        hot = np.flatnonzero(rng.random(share.size) < share)
        keys = [int(k) + 1 for k in hot]
        places = list(np.asarray(HOT_KEY_POSITION)[hot] + rng.normal(0.0, POSITION_JITTER, hot.size))
        while len(keys) < OPS_PER_TXN:
            tail = 17 + int(rng.pareto(TAIL_SHAPE) * TAIL_SCALE)
            if tail <= MAX_KEY and tail not in keys:
                keys.append(tail)
                places.append(rng.uniform(0.0, OPS_PER_TXN))
        kinds = np.where(rng.random(len(keys)) < WRITE_SHARE, "w", "r")
        order = np.argsort(places, kind="stable")
        transactions.append([f"{kinds[i]}-{keys[j]}" for i, j in enumerate(order)])
    return transactions


def warehouse_workload(seed: int, num_txns: int = 100) -> list[list[str]]:
    """Shape of published workload 2: TPC-C-like warehouses 1-4 with 10 districts each.

    The first half are long transactions `r-w r-d w-d` plus 18 idle steps (district
    d in 10w+1 .. 10w+10), the second half short ones `r-w w-w r-d w-d *`.
    """
    rng = np.random.default_rng(seed)
    transactions = []
    for index in range(num_txns):
        warehouse = int(rng.integers(1, 5))
        district = 10 * warehouse + int(rng.integers(1, 11))
        if index < num_txns // 2:
            transactions.append([f"r-{warehouse}", f"r-{district}", f"w-{district}"] + ["*"] * 18)
        else:
            transactions.append([f"r-{warehouse}", f"w-{warehouse}", f"r-{district}", f"w-{district}", "*"])
    return transactions


def read_then_write_workload(seed: int, num_txns: int = 100) -> list[list[str]]:
    """Shape of published workload 3: read a key, 7 idle steps, write another.

    The first half reads keys 1-5 and writes keys 6-10, the second half the reverse.
    """
    rng = np.random.default_rng(seed)
    transactions = []
    for index in range(num_txns):
        low, high = int(rng.integers(1, 6)), int(rng.integers(6, 11))
        read, write = (low, high) if index < num_txns // 2 else (high, low)
        transactions.append([f"r-{read}"] + ["*"] * 7 + [f"w-{write}"])
    return transactions


GENERATORS = {
    "hot_keys": hot_key_workload,
    "warehouse": warehouse_workload,
    "read_then_write": read_then_write_workload,
}

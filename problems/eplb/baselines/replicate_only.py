"""Replication without placement: the 32 extra slots go, one by one, to the expert with
the most load per replica, and slots are filled in expert order (slot s on GPU s // 9).

A reference point showing how much of the hierarchical policy's balance comes from
packing replicas onto GPUs rather than from choosing what to replicate.
"""

import numpy as np


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    weight = np.asarray(weight, dtype=np.float64)
    layers, num_logical = weight.shape
    rows = np.arange(layers)
    logcnt = np.ones((layers, num_logical), dtype=np.int64)
    for _ in range(num_replicas - num_logical):
        hottest = (weight / logcnt).argmax(axis=1)
        logcnt[rows, hottest] += 1
    phy2log = np.stack([np.repeat(np.arange(num_logical), logcnt[layer]) for layer in range(layers)])
    width = int(logcnt.max())
    log2phy = np.full((layers, num_logical, width), -1, dtype=np.int64)
    first = np.cumsum(logcnt, axis=1) - logcnt
    for replica in range(width):
        has = logcnt > replica
        log2phy[:, :, replica] = np.where(has, first + replica, -1)
    return phy2log, log2phy, logcnt

"""DeepSeek's hierarchical expert-parallel load balancer (EPLB), in numpy.

1. Pack expert groups onto nodes: heaviest group first, to the least-loaded node that
   still has room (every node gets the same number of groups).
2. Within each node, add replicas one at a time to the expert with the highest load per
   replica until the node's slots are filled.
3. Pack the node's replicas onto its GPUs with the same balanced greedy.
Keeping a group on one node limits cross-node traffic; when groups do not divide evenly
into nodes, the same steps run with one group and one node (the global policy).
"""

import numpy as np


def inverse(permutation):
    inv = np.empty_like(permutation)
    np.put_along_axis(inv, permutation, np.arange(permutation.shape[1])[None, :].repeat(permutation.shape[0], 0), 1)
    return inv


def balanced_packing(weight, num_packs):
    """Each row's n items into num_packs packs of n / num_packs items: (pack, rank in pack)."""
    rows, n = weight.shape
    capacity = n // num_packs
    order = np.argsort(-weight, axis=1, kind="stable")
    pack_weight = np.zeros((rows, num_packs))
    pack_count = np.zeros((rows, num_packs), dtype=np.int64)
    pack_index = np.empty((rows, n), dtype=np.int64)
    rank_in_pack = np.empty((rows, n), dtype=np.int64)
    r = np.arange(rows)
    for j in range(n):
        item = order[:, j]
        pack = np.where(pack_count < capacity, pack_weight, np.inf).argmin(axis=1)
        pack_index[r, item] = pack
        rank_in_pack[r, item] = pack_count[r, pack]
        pack_weight[r, pack] += weight[r, item]
        pack_count[r, pack] += 1
    return pack_index, rank_in_pack


def replicate_experts(weight, num_physical):
    """Give each row's extra slots, one by one, to the expert with the most load per replica."""
    rows, num_logical = weight.shape
    r = np.arange(rows)
    phy2log = np.tile(np.arange(num_physical), (rows, 1))
    rank = np.zeros((rows, num_physical), dtype=np.int64)
    logcnt = np.ones((rows, num_logical), dtype=np.int64)
    for slot in range(num_logical, num_physical):
        hottest = (weight / logcnt).argmax(axis=1)
        phy2log[:, slot] = hottest
        rank[:, slot] = logcnt[r, hottest]
        logcnt[r, hottest] += 1
    return phy2log, rank, logcnt


def rebalance_hierarchical(weight, num_physical, num_groups, num_nodes, num_gpus):
    layers, num_logical = weight.shape
    group_size = num_logical // num_groups
    groups_per_node = num_groups // num_nodes
    slots_per_gpu = num_physical // num_gpus
    experts_per_node = num_logical // num_nodes

    group_load = weight.reshape(layers, num_groups, group_size).sum(axis=2)
    group_pack, group_rank = balanced_packing(group_load, num_nodes)
    log2mlog = ((group_pack * groups_per_node + group_rank) * group_size)[:, :, None] + np.arange(group_size)
    log2mlog = log2mlog.reshape(layers, num_logical)
    mlog2log = inverse(log2mlog)

    mlog_load = np.take_along_axis(weight, mlog2log, axis=1).reshape(layers * num_nodes, experts_per_node)
    phy2mlog, phy_rank, mlogcnt = replicate_experts(mlog_load, num_physical // num_nodes)

    phy_load = np.take_along_axis(mlog_load / mlogcnt, phy2mlog, axis=1)
    gpu_pack, gpu_rank = balanced_packing(phy_load, num_gpus // num_nodes)
    pphy2phy = inverse(gpu_pack * slots_per_gpu + gpu_rank)
    pphy2mlog = np.take_along_axis(phy2mlog, pphy2phy, axis=1).reshape(layers, num_nodes, -1)
    pphy2mlog = (pphy2mlog + np.arange(0, num_logical, experts_per_node)[None, :, None]).reshape(layers, -1)
    phy2log = np.take_along_axis(mlog2log, pphy2mlog, axis=1)
    phy_rank = np.take_along_axis(phy_rank, pphy2phy, axis=1).reshape(layers, -1)
    logcnt = np.take_along_axis(mlogcnt.reshape(layers, -1), log2mlog, axis=1)
    return phy2log, phy_rank, logcnt


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    weight = np.asarray(weight, dtype=np.float64)
    layers, num_logical = weight.shape
    if num_groups % num_nodes == 0:
        phy2log, phy_rank, logcnt = rebalance_hierarchical(weight, num_replicas, num_groups, num_nodes, num_gpus)
    else:
        phy2log, phy_rank, logcnt = rebalance_hierarchical(weight, num_replicas, 1, 1, num_gpus)
    width = num_replicas - num_logical + 1
    log2phy = np.full((layers, num_logical * width), -1, dtype=np.int64)
    slots = np.arange(num_replicas)[None, :].repeat(layers, 0)
    np.put_along_axis(log2phy, phy2log * width + phy_rank, slots, axis=1)
    return phy2log, log2phy.reshape(layers, num_logical, width), logcnt

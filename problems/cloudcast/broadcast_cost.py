"""The leaderboard's broadcast cost model, recomputed from the graph's own prices.

A topology gives, for every destination and partition, the chain of edges that partition
travels from the source to that destination. The edges used by any of them form one
overlay; an edge carries every partition routed over it. Each edge starts at its measured
throughput; then, node by node in the order the nodes first appear, when the flows into a
node exceed its provider's ingress limit each incoming edge is capped at limit / (number
of incoming edges), and likewise outgoing edges for the egress limit (both sums taken
before the node's caps). A destination's time is the slowest of its edges, each taking
(partitions on it) x (GB per partition) x 8 / flow seconds; the transfer's time is the
slowest destination. Cost = egress (partitions on each edge x GB per partition x $/GB)
+ instances (2 VMs x $0.54/h x the time rounded to 0.01 s, for every region touched).
The arithmetic follows the leaderboard's simulator operation for operation, so its totals
are reproduced to the last digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from profiles import VMS_PER_REGION, Graph, Transfer

INSTANCE_DOLLARS_PER_HOUR = 0.54  # m5.8xlarge spot, the leaderboard's figure
GBIT_PER_GB = 8
LEADERBOARD_WORST = 1199.00  # the leaderboard's 0-point ($, five transfers)
LEADERBOARD_BEST = 626.24  # its 100-point

Pair = tuple[str, str]


class Outcome(NamedTuple):
    cost: float
    egress: float
    instance: float
    time_s: float
    regions: int
    dst_times: dict[str, float]


def _overlay(transfer: Transfer, routes: dict[str, Sequence[Sequence[Pair]]]) -> tuple[dict, dict, dict]:
    """Partitions per edge, and each node's successors and predecessors, in insertion order."""
    partitions: dict[Pair, set[int]] = {}
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for dst in transfer.dsts:
        for p in range(transfer.num_partitions):
            for u, v in routes[dst][p]:
                if (u, v) not in partitions:
                    partitions[(u, v)] = set()
                    for node in (u, v):
                        succ.setdefault(node, [])
                        pred.setdefault(node, [])
                    succ[u].append(v)
                    pred[v].append(u)
                partitions[(u, v)].add(p)
    return partitions, succ, pred


def _capped_flows(transfer: Transfer, graph: Graph, succ: dict, pred: dict) -> dict[Pair, float]:
    flow = {(u, v): graph.edges[(u, v)].throughput for u in succ for v in succ[u]}
    for node in succ:
        provider = node.split(":")[0]
        ins = [(u, node) for u in pred[node]]
        outs = [(node, v) for v in succ[node]]
        in_sum = sum([flow[e] for e in ins])
        out_sum = sum([flow[e] for e in outs])
        if in_sum > transfer.ingress[provider]:
            for e in ins:
                flow[e] = min(flow[e], transfer.ingress[provider] * (1 / len(ins)))
        if out_sum > transfer.egress[provider]:
            for e in outs:
                flow[e] = min(flow[e], transfer.egress[provider] * (1 / len(outs)))
    return flow


def simulate(transfer: Transfer, graph: Graph, routes: dict[str, Sequence[Sequence[Pair]]]) -> Outcome:
    """routes[dst][p]: the checked chain of edges partition p takes from the source to dst."""
    partitions, succ, pred = _overlay(transfer, routes)
    flow = _capped_flows(transfer, graph, succ, pred)
    per_partition = transfer.data_vol / transfer.num_partitions
    dst_times = {}
    for dst in transfer.dsts:
        slowest = float("-inf")
        for p in range(transfer.num_partitions):
            for e in routes[dst][p]:
                slowest = max(slowest, len(partitions[e]) * per_partition * GBIT_PER_GB / flow[e])
        dst_times[dst] = slowest
    time_s = max(dst_times.values())
    egress = 0
    for u in succ:
        for v in succ[u]:
            egress += len(partitions[(u, v)]) * per_partition * graph.edges[(u, v)].cost
    runtime_s = round(time_s, 2)
    instance = 0
    for _ in succ:
        instance += VMS_PER_REGION * (INSTANCE_DOLLARS_PER_HOUR / 3600) * runtime_s
    return Outcome(egress + instance, egress, instance, time_s, len(succ), dst_times)


def leaderboard_score(total_cost: float) -> float:
    """The leaderboard's 0-100: linear from $1199.00 (0) to $626.24 (100), clamped."""
    clamped = max(min(total_cost, LEADERBOARD_WORST), LEADERBOARD_BEST)
    return (LEADERBOARD_WORST - clamped) / (LEADERBOARD_WORST - LEADERBOARD_BEST) * 100

"""The region graph and the transfers, on the scorer's side only.

The graph is the leaderboard's: one node per region in the order it first appears in
throughput.csv, one edge per directed pair (self pairs left out) with `cost` in $/GB from
cost.csv and `throughput` = VMs per region x the measured bits/s / 1e9 (Gbps). Test is the
leaderboard's five transfers; train is five transfers of the same shapes between other
regions, drawn from a fixed seed.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import NamedTuple

DATA = Path(__file__).parent / "data"
VMS_PER_REGION = 2
TEST_CONFIGS = ("intra_aws", "intra_azure", "intra_gcp", "inter_agz", "inter_gaz2")
TRAIN_SEED = 2024
PROVIDERS = ("aws", "gcp", "azure")
DEFAULT_INGRESS = {"aws": 10, "gcp": 16, "azure": 16}
DEFAULT_EGRESS = {"aws": 5, "gcp": 7, "azure": 16}


class Edge(NamedTuple):
    cost: float  # $/GB
    throughput: float  # Gbps for the region's VMs


class Graph(NamedTuple):
    nodes: tuple[str, ...]
    edges: dict[tuple[str, str], Edge]  # insertion order = the published graph's


class Transfer(NamedTuple):
    name: str
    src: str
    dsts: tuple[str, ...]
    data_vol: float  # GB
    num_partitions: int
    ingress: dict[str, float]  # Gbps per region, VMs included
    egress: dict[str, float]


def load_graph(vms: int = VMS_PER_REGION) -> Graph:
    throughput: dict[tuple[str, str], float] = {}
    nodes: dict[str, None] = {}
    with open(DATA / "profiles" / "throughput.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            pair = (row["src_region"], row["dst_region"])
            if pair[0] == pair[1]:
                continue
            nodes.update(dict.fromkeys(pair))
            throughput[pair] = vms * float(row["throughput_sent"]) / 1e9
    costs: dict[tuple[str, str], float] = {}
    with open(DATA / "profiles" / "cost.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            costs[(row["src"], row["dest"])] = float(row["cost"])
    unpriced = [pair for pair in throughput if pair not in costs]
    if unpriced:
        raise ValueError(f"cost.csv has no price for {len(unpriced)} pairs, e.g. {unpriced[0]}")
    return Graph(tuple(nodes), {pair: Edge(costs[pair], tp) for pair, tp in throughput.items()})


def _transfer(name: str, config: dict, vms: int) -> Transfer:
    ingress = dict(DEFAULT_INGRESS) | {p: vms * v for p, v in config.get("ingress_limit", {}).items()}
    egress = dict(DEFAULT_EGRESS) | {p: vms * v for p, v in config.get("egress_limit", {}).items()}
    return Transfer(name, config["source_node"], tuple(config["dest_nodes"]), config["data_vol"],
                    int(config["num_partitions"]), ingress, egress)


def _published_configs() -> dict[str, dict]:
    return {name: json.loads((DATA / "configs" / f"{name}.json").read_text()) for name in TEST_CONFIGS}


def published_transfers(vms: int = VMS_PER_REGION) -> list[Transfer]:
    return [_transfer(name, config, vms) for name, config in _published_configs().items()]


def drawn_transfers(graph: Graph, seed: int = TRAIN_SEED, vms: int = VMS_PER_REGION) -> list[Transfer]:
    """One transfer per published one, same providers for source and each destination, other regions."""
    rng = random.Random(seed)
    by_provider = {p: [n for n in graph.nodes if n.split(":")[0] == p] for p in PROVIDERS}
    drawn = []
    for name, config in _published_configs().items():
        published = [config["source_node"], *config["dest_nodes"]]
        while True:
            regions = [rng.choice(by_provider[r.split(":")[0]]) for r in published]
            if len(set(regions)) == len(regions) and len(set(regions) & set(published)) < len(regions) // 2:
                break
        drawn.append(_transfer(f"drawn_{name}", config | {"source_node": regions[0], "dest_nodes": regions[1:]}, vms))
    return drawn

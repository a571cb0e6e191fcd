"""The candidate's side of one broadcast call: the networkx graph a published program expects.

The scorer sends the region graph as plain rows (u, v, $/GB, Gbps, in the published
graph's order) and one transfer. Here, in the candidate's process, the rows become an
`nx.DiGraph` with `cost` and `throughput` on every edge, the program's
`search_algorithm(src, dsts, G, num_partitions)` runs, and its topology goes back as plain
rows: per destination, per partition, the edges [u, v, cost, throughput] as the program's
edge data states them. Nothing here is trusted: the scorer checks every edge and every
stated price against its own graph, so a program that edits the graph or this module
changes only what it answers.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence

import networkx as nx

PROGRAM_MODULE = "candidate"  # the name the candidate's host gives the loaded program


def _number(data: object, key: str) -> float | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _edge(edge: object) -> list:
    if isinstance(edge, str) or not isinstance(edge, Sequence) or len(edge) < 2:
        return [repr(edge)[:60]]
    data = edge[2] if len(edge) > 2 else None
    return [str(edge[0]), str(edge[1]), _number(data, "cost"), _number(data, "throughput")]


def _route(paths: object, dst: str, partition: int) -> list | str:
    try:
        edges = paths[dst][str(partition)]
    except (KeyError, TypeError, IndexError):
        return f"paths[{dst!r}][{str(partition)!r}] is missing"
    if edges is None:
        return f"paths[{dst!r}][{str(partition)!r}] was never set"
    if isinstance(edges, str | bytes) or not isinstance(edges, Sequence):
        return f"paths[{dst!r}][{str(partition)!r}] is a {type(edges).__name__}, not a list of edges"
    return [_edge(edge) for edge in edges]


def broadcast(rows: Sequence[Sequence], src: str, dsts: list[str], num_partitions: int) -> dict[str, list] | str:
    """{dst: [edges of partition 0, edges of partition 1, ...]}, or a one-line reason there is none."""
    program = sys.modules[PROGRAM_MODULE]
    graph = nx.DiGraph()
    for u, v, cost, throughput in rows:
        graph.add_edge(u, v, cost=cost, throughput=throughput)
    topology = program.search_algorithm(src, list(dsts), graph, num_partitions)
    if not hasattr(topology, "set_num_partitions") or not hasattr(topology, "paths"):
        return f"search_algorithm must return a BroadCastTopology, got {type(topology).__name__}"
    topology.set_num_partitions(num_partitions)
    routes: dict[str, list] = {}
    for dst in dsts:
        routes[dst] = [_route(topology.paths, dst, p) for p in range(num_partitions)]
    return routes

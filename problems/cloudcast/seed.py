"""Cloudcast: broadcast data from one cloud region to several others at the lowest cost."""

import networkx as nx
from broadcast import BroadCastTopology


# EVOLVE-BLOCK-START
def search_algorithm(src, dsts, G, num_partitions):
    """Each destination on its own cheapest path by $/GB (Dijkstra); all partitions alike.

    G: nx.DiGraph of regions with edge data cost ($/GB) and throughput (Gbps). Fill the
    topology with, for every destination and partition, the chain of edges [u, v, G[u][v]]
    from src to that destination.
    """
    topology = BroadCastTopology(src, dsts, num_partitions)
    graph = G.copy()
    graph.remove_edges_from(list(graph.in_edges(src)))
    for dst in dsts:
        path = nx.dijkstra_path(graph, src, dst, weight="cost")
        for u, v in zip(path, path[1:]):
            for partition in range(num_partitions):
                topology.append_dst_partition_path(dst, partition, [u, v, G[u][v]])
    return topology
# EVOLVE-BLOCK-END

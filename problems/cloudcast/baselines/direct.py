"""Every partition straight from the source to each destination: $1199.17, the leaderboard's 0."""

from broadcast import BroadCastTopology


def search_algorithm(src, dsts, G, num_partitions):
    topology = BroadCastTopology(src, dsts, num_partitions)
    for dst in dsts:
        for partition in range(num_partitions):
            topology.append_dst_partition_path(dst, partition, [src, dst, G[src][dst]])
    return topology

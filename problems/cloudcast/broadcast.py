"""The topology a broadcast program returns, under the leaderboard's import path.

Published programs do `from broadcast import BroadCastTopology` and fill `paths`: for each
destination, for each partition (keyed by its number as a string), a list of edges
`[u, v, edge_data]` with `edge_data` the graph's `G[u][v]`. This is only a container in
the candidate's process; the scorer checks and prices what it holds.
"""

from __future__ import annotations


class BroadCastTopology:
    """paths[dst][str(partition)]: the edges that partition takes from src to dst (None until set)."""

    def __init__(self, src: str, dsts: list[str], num_partitions: int = 4, paths: dict | None = None) -> None:
        self.src = src
        self.dsts = dsts
        self.num_partitions = int(num_partitions)
        if paths is None:
            paths = {dst: {str(p): None for p in range(self.num_partitions)} for dst in dsts}
        self.paths = paths

    def get_paths(self) -> dict:
        return self.paths

    def set_num_partitions(self, num_partitions: int) -> None:
        self.num_partitions = int(num_partitions)

    def set_dst_partition_paths(self, dst: str, partition: int, paths: list) -> None:
        """All of one partition's edges to dst at once."""
        self.paths[dst][str(partition)] = paths

    def append_dst_partition_path(self, dst: str, partition: int, path: list, graph: object = None) -> None:
        """One more edge [u, v, edge_data] of the partition's way to dst."""
        key = str(partition)
        if self.paths[dst][key] is None:
            self.paths[dst][key] = []
        self.paths[dst][key].append(path)

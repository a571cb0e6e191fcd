"""Tiling heuristic for the fixed Triton matmul: one configuration for every shape."""

# EVOLVE-BLOCK-START


def choose_config(M: int, N: int, K: int, dtype: str) -> tuple[int, int, int, int, int, int]:
    block_m = 2 ** 6
    block_n = 2 ** 6
    block_k = 2 ** 5
    group_m = 2 ** 3
    num_warps = 2 ** 2
    num_stages = 3
    return block_m, block_n, block_k, group_m, num_warps, num_stages


# EVOLVE-BLOCK-END

"""Hand-written tiling by shape class, after the configurations Triton's matmul tutorial autotunes over.

Skinny M (decode-like) gets short, wide tiles so enough programs cover N; large outputs
get 128 x 256 tiles with 8 warps; everything else a balanced 128 x 128 tile. Deeper
pipelines where K is long hide more load latency.
"""

# EVOLVE-BLOCK-START


def choose_config(M: int, N: int, K: int, dtype: str) -> tuple[int, int, int, int, int, int]:
    stages = 4 if K >= 2048 else 3
    if M <= 32:
        return 16, 128, 128, 1, 4, stages
    if M <= 128:
        return 64, 128, 64, 4, 4, stages
    if M * N >= 4096 * 4096:
        return 128, 256, 64, 8, 8, 3
    return 128, 128, 64, 8, 4, stages


# EVOLVE-BLOCK-END

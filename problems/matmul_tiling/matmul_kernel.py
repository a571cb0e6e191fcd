"""The fixed Triton matmul whose tiling the evolved heuristic chooses, and the rules a tiling obeys.

C = A @ B with A [M, K], B [K, N] in float16 or bfloat16, accumulated in float32. Programs
walk output tiles in groups of GROUP_M tile-rows so that neighbouring programs share
tiles of A and B in L2. Edges are masked, so any M, N, K work with any legal tiling.
"""

from __future__ import annotations

from typing import NamedTuple

# isort: off
# kernel_bench before Triton: it decides CUDA or the interpreter.
import torch

from evolve.evaluators import kernel_bench as kb
from evolve.evaluators.contract import InvalidProgram

import triton
import triton.language as tl
# isort: on

BLOCK_MN_CHOICES = (16, 32, 64, 128, 256)
BLOCK_K_CHOICES = (16, 32, 64, 128)
GROUP_M_CHOICES = (1, 2, 4, 8, 16, 32, 64)
NUM_WARPS_CHOICES = (1, 2, 4, 8, 16)
NUM_STAGES_RANGE = range(1, 8)
# 227 KiB: the shared memory one block may opt into on H100 and H200.
SHARED_MEMORY_BYTES = 227 * 1024
# fp32 accumulator registers per thread; beyond this the accumulator spills to local memory.
MAX_ACCUMULATOR_PER_THREAD = 256


class TileConfig(NamedTuple):
    block_m: int
    block_n: int
    block_k: int
    group_m: int
    num_warps: int
    num_stages: int

    def shared_memory_bytes(self, dtype: torch.dtype) -> int:
        """Pipelined A and B tiles: one buffer of each per stage."""
        return self.num_stages * (self.block_m + self.block_n) * self.block_k * dtype.itemsize

    def accumulator_per_thread(self) -> float:
        return self.block_m * self.block_n / (32 * self.num_warps)

    def label(self) -> str:
        return (f"BLOCK_M={self.block_m} BLOCK_N={self.block_n} BLOCK_K={self.block_k} "
                f"GROUP_M={self.group_m} num_warps={self.num_warps} num_stages={self.num_stages}")


def validate_config(raw: object, dtype: str, where: str) -> TileConfig:
    """Turn choose_config's answer into a TileConfig, or reject it with the broken rule."""
    if not isinstance(raw, (tuple, list)) or len(raw) != 6:
        raise InvalidProgram(f"{where}: expected a tuple of 6 ints (BLOCK_M, BLOCK_N, BLOCK_K, "
                             f"GROUP_M, num_warps, num_stages), got {raw!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        raise InvalidProgram(f"{where}: every entry must be a Python int, got {raw!r}")
    config = TileConfig(*raw)
    rules = (
        (config.block_m in BLOCK_MN_CHOICES, f"BLOCK_M must be one of {BLOCK_MN_CHOICES}"),
        (config.block_n in BLOCK_MN_CHOICES, f"BLOCK_N must be one of {BLOCK_MN_CHOICES}"),
        (config.block_k in BLOCK_K_CHOICES, f"BLOCK_K must be one of {BLOCK_K_CHOICES}"),
        (config.group_m in GROUP_M_CHOICES, f"GROUP_M must be one of {GROUP_M_CHOICES}"),
        (config.num_warps in NUM_WARPS_CHOICES, f"num_warps must be one of {NUM_WARPS_CHOICES}"),
        (config.num_stages in NUM_STAGES_RANGE, "num_stages must be in 1..7"),
    )
    for holds, rule in rules:
        if not holds:
            raise InvalidProgram(f"{where}: {rule}; got {config.label()}")
    smem = config.shared_memory_bytes(kb.torch_dtype(dtype))
    if smem > SHARED_MEMORY_BYTES:
        raise InvalidProgram(
            f"{where}: num_stages x (BLOCK_M + BLOCK_N) x BLOCK_K x {kb.torch_dtype(dtype).itemsize}"
            f" bytes = {smem} exceeds the {SHARED_MEMORY_BYTES} bytes of shared memory; "
            f"got {config.label()}")
    if config.accumulator_per_thread() > MAX_ACCUMULATOR_PER_THREAD:
        raise InvalidProgram(
            f"{where}: BLOCK_M x BLOCK_N / (32 x num_warps) = {config.accumulator_per_thread():g}"
            f" accumulator values per thread exceeds {MAX_ACCUMULATOR_PER_THREAD}; "
            f"got {config.label()}")
    return config


@triton.jit
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
                  stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                  GROUP_M: tl.constexpr, UPCAST_DOT: tl.constexpr):
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    tiles_n = tl.cdiv(N, BLOCK_N)
    tiles_per_group = GROUP_M * tiles_n
    first_m = (pid // tiles_per_group) * GROUP_M
    group_rows = tl.minimum(tiles_m - first_m, GROUP_M)
    tile_m = first_m + (pid % tiles_per_group) % group_rows
    tile_n = (pid % tiles_per_group) // group_rows

    rows = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k_tile in range(0, tl.cdiv(K, BLOCK_K)):
        k = k_tile * BLOCK_K + ks
        a = tl.load(a_ptr + rows[:, None] * stride_am + k[None, :] * stride_ak,
                    mask=(rows[:, None] < M) & (k[None, :] < K), other=0.0)
        b = tl.load(b_ptr + k[:, None] * stride_bk + cols[None, :] * stride_bn,
                    mask=(k[:, None] < K) & (cols[None, :] < N), other=0.0)
        if UPCAST_DOT:
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        acc = tl.dot(a, b, acc)
    tl.store(c_ptr + rows[:, None] * stride_cm + cols[None, :] * stride_cn,
             acc.to(c_ptr.dtype.element_ty), mask=(rows[:, None] < M) & (cols[None, :] < N))


def matmul(a: torch.Tensor, b: torch.Tensor, config: TileConfig) -> torch.Tensor:
    """Launch the kernel with one tiling.

    Triton's interpreter (3.9) multiplies bfloat16 tiles wrongly, so there the tiles are
    widened to float32 before the dot; compiled kernels multiply the inputs as they are.
    """
    m, k = a.shape
    _, n = b.shape
    c = torch.empty((m, n), dtype=a.dtype, device=a.device)
    grid = (triton.cdiv(m, config.block_m) * triton.cdiv(n, config.block_n),)
    matmul_kernel[grid](a, b, c, m, n, k, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                        c.stride(0), c.stride(1), BLOCK_M=config.block_m, BLOCK_N=config.block_n,
                        BLOCK_K=config.block_k, GROUP_M=config.group_m,
                        UPCAST_DOT=kb.backend() == "interpreter",
                        num_warps=config.num_warps, num_stages=config.num_stages)
    return c

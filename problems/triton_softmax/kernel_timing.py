"""Timing a kernel where it runs: in the candidate's process, on the GPU it was given.

The same method as the scorer's `evaluators.kernel_bench.time_cuda`, which times torch
and the seed in the scorer's process, so both sides of a speed-up are measured alike:
one untimed call (Triton compiles), warm-up calls that size the number of repeats, then
CUDA events around each call, a 256 MiB write before each to flush L2. Before every call
the input buffer is rewritten from the next of several inputs (outside the timed region),
so a kernel that remembers its last answer for the same buffer returns a stale one; the
last output for each input goes back to the scorer, which checks it.

This module runs in the candidate's process and is therefore only as honest as that
process: the scorer bounds what it reports by its own wall clock and checks its outputs,
but a process that rewrites this module can still report a faster time than it took.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

FLUSH_BYTES = 256 * 1024 * 1024


def time_kernel(fn: Callable[[torch.Tensor], torch.Tensor], inputs: list[torch.Tensor], *,
                warmup: int = 10, repeats: int = 100, min_repeats: int = 10,
                budget_ms: float = 1500.0) -> tuple[list[float], list[torch.Tensor]]:
    """Per-call times in milliseconds, and the last output computed from each input."""
    flush = torch.empty(FLUSH_BYTES, dtype=torch.int8, device=inputs[0].device)
    x = inputs[0].clone()
    fn(x)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for i in range(warmup):
        x.copy_(inputs[i % len(inputs)])
        fn(x)
    end.record()
    torch.cuda.synchronize()
    estimate_ms = max(start.elapsed_time(end) / max(warmup, 1), 1e-3)
    count = max(min_repeats, min(repeats, int(budget_ms / estimate_ms)))
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(count)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(count)]
    last: list[torch.Tensor | None] = [None] * len(inputs)
    for i, (begin, finish) in enumerate(zip(starts, ends)):
        x.copy_(inputs[i % len(inputs)])
        flush.zero_()
        begin.record()
        last[i % len(inputs)] = fn(x)
        finish.record()
    torch.cuda.synchronize()
    return [begin.elapsed_time(finish) for begin, finish in zip(starts, ends)], last

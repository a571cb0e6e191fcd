"""Online softmax (Milakov and Gimelshein, 2018): bounded tiles for rows of any length.

One program per row walks the row in tiles of at most 4096 columns, keeping a running
maximum and a running sum rescaled whenever the maximum grows; a second walk writes
exp(x - max) / sum. Registers hold one tile, not the whole row, so 32k-column rows do
not spill, at the price of reading each row twice.
"""

import torch
import triton
import triton.language as tl

# EVOLVE-BLOCK-START


@triton.jit
def softmax_kernel(out_ptr, in_ptr, in_row_stride, out_row_stride, n_cols,
                   BLOCK_SIZE: tl.constexpr):
    row = tl.program_id(0)
    in_row = in_ptr + row * in_row_stride
    out_row = out_ptr + row * out_row_stride
    offsets = tl.arange(0, BLOCK_SIZE)
    running_max = tl.full((BLOCK_SIZE,), -float("inf"), tl.float32)
    running_sum = tl.zeros((BLOCK_SIZE,), tl.float32)
    for start in range(0, n_cols, BLOCK_SIZE):
        cols = start + offsets
        x = tl.load(in_row + cols, mask=cols < n_cols, other=-float("inf")).to(tl.float32)
        new_max = tl.maximum(running_max, x)
        # lanes that saw only padding stay at -inf; subtracting 0 there keeps exp() at 0
        safe_max = tl.where(new_max == -float("inf"), 0.0, new_max)
        running_sum = running_sum * tl.exp(running_max - safe_max) + tl.exp(x - safe_max)
        running_max = new_max
    row_max = tl.max(running_max, axis=0)
    row_sum = tl.sum(running_sum * tl.exp(running_max - row_max), axis=0)
    for start in range(0, n_cols, BLOCK_SIZE):
        cols = start + offsets
        mask = cols < n_cols
        x = tl.load(in_row + cols, mask=mask, other=-float("inf")).to(tl.float32)
        y = tl.exp(x - row_max) / row_sum
        tl.store(out_row + cols, y.to(out_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    block_size = min(triton.next_power_of_2(n_cols), 4096)
    num_warps = 4 if block_size <= 1024 else 8
    out = torch.empty_like(x)
    softmax_kernel[(n_rows,)](out, x, x.stride(0), out.stride(0), n_cols,
                              BLOCK_SIZE=block_size, num_warps=num_warps)
    return out


# EVOLVE-BLOCK-END

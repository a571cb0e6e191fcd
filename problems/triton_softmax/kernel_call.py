"""The candidate's side of a softmax call: plain arrays in, the program's kernel, plain arrays out.

The scorer sends each input as a dtype name and a numpy array (bfloat16 as its 16-bit
patterns, which numpy has no type for). Here, in the candidate's process, it becomes a
torch tensor on this process's device, the program's `softmax` runs under a guard that
lets the launcher only allocate and view tensors, and the output goes back the same way.
The scorer drew the inputs, computes the reference itself and compares; nothing here
decides a score. The guard and the timing run in this process, so they hold only for a
program that does not rewrite them: the README says what that leaves to trust.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import numpy as np
import torch
from kernel_timing import time_kernel
from torch.utils._python_dispatch import TorchDispatchMode

PROGRAM_MODULE = "candidate"  # the name the candidate's host gives the loaded program
MAX_ERROR_CHARS = 600
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
          "float64": torch.float64}
NUMPY_TYPES = {torch.float16: np.float16, torch.bfloat16: np.uint16, torch.float32: np.float32,
               torch.float64: np.float64}

# Storage and view operations a kernel launcher needs (allocating its output, strides,
# the interpreter's host copies); any arithmetic op outside this set means the launcher
# computes with torch instead of with its own kernel.
LAUNCHER_OPS = frozenset({
    "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided",
    "zeros", "zeros_like", "zero_", "fill_", "copy_", "set_", "lift_fresh",
    "view", "_unsafe_view", "reshape", "as_strided", "detach", "alias",
    "t", "transpose", "permute", "expand", "select", "slice", "unsqueeze", "squeeze",
})


class ForbiddenTorchOp(RuntimeError):
    """A launcher computed with torch operations instead of its own kernel."""


class _LauncherGuard(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Nothing is compiled by torch inside the guard; answering False keeps torch from
        # importing torch._dynamo for this class, which costs two seconds per evaluation.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name not in LAUNCHER_OPS:
            raise ForbiddenTorchOp(
                f"the launcher called torch op aten.{name}; compute inside the Triton kernel "
                f"(the launcher may only allocate and view tensors)")
        return func(*args, **(kwargs or {}))


def backend() -> str:
    """"cuda" where kernels compile for this process's GPU, else "interpreter" (CPU tensors)."""
    interpreting = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
    return "cuda" if torch.cuda.is_available() and not interpreting else "interpreter"


def _device() -> torch.device:
    return torch.device("cuda" if backend() == "cuda" else "cpu")


def tensor(value: dict[str, Any]) -> torch.Tensor:
    dtype = DTYPES[value["dtype"]]
    data = torch.from_numpy(np.array(value["data"], dtype=NUMPY_TYPES[dtype]))
    return data.view(dtype).to(_device())


def plain(result: object, like: torch.Tensor) -> dict[str, Any]:
    """An output as the scorer reads it, or why it cannot be one."""
    if not isinstance(result, torch.Tensor):
        return {"invalid": f"expected a torch.Tensor, got {type(result).__name__}"}
    if result.device != like.device:
        return {"invalid": f"output on {result.device}, expected on {like.device}"}
    if result.dtype not in NUMPY_TYPES:
        return {"invalid": f"output dtype {result.dtype} != expected {like.dtype}"}
    host = result.detach().contiguous().cpu()
    bits = host.view(torch.int16) if result.dtype == torch.bfloat16 else host
    name = next(k for k, v in DTYPES.items() if v == result.dtype)
    return {"dtype": name, "data": bits.numpy().view(NUMPY_TYPES[result.dtype])}


def _guarded(x: torch.Tensor) -> object:
    with _LauncherGuard():
        return sys.modules[PROGRAM_MODULE].softmax(x)


def _raised(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ForbiddenTorchOp):
        return {"invalid": str(exc)}
    message = str(exc)  # compiler errors can run to pages; the head names the cause
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS] + " ..."
    return {"raised": f"{type(exc).__name__}: {message}"}


def check(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The program's output for each input, or the error it raised on that one."""
    answers = []
    for value in inputs:
        x = tensor(value)
        try:
            answers.append(plain(_guarded(x.clone()), x))
        except Exception as exc:  # the program's own failure on this input, reported to the scorer
            answers.append(_raised(exc))
    return answers


def timed(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The program's per-call times on this GPU and its last output for each input."""
    if backend() != "cuda":
        return {"unavailable": f"kernels run in Triton's interpreter here ({backend()})"}
    tensors = [tensor(value) for value in inputs]
    try:
        times, outputs = time_kernel(_guarded, tensors)
    except Exception as exc:
        return {**_raised(exc), "traceback": traceback.format_exc()[-MAX_ERROR_CHARS:]}
    return {"times_ms": times, "outputs": [plain(out, x) for out, x in zip(outputs, tensors)]}

"""Kernel benchmark harness: correctness against a torch reference, then GPU timing.

GPU kernel problems share it so that every candidate is judged the same way: outputs are
compared with stated tolerances per dtype, and speed is measured with CUDA events on a
cold L2 cache (a 256 MiB buffer is written before every repetition) as the median of
repeats after warm-up. Without a CUDA GPU, Triton kernels run in Triton's interpreter
(correctness only) and the timing stage raises `StageUnavailable`, so a machine without
a GPU never reports a speed it did not measure. Import this module before Triton: that
is when the interpreter is switched on.

Scorers of kernels a candidate's process runs (`scoring: channel`) exchange tensors with
it as plain data (`to_wire`, `from_wire`) and turn its timing reply into a `Timing` only
after checking it against their own clock (`candidate_timing`).

Needs the `gpu` extra (torch and Triton).
"""

from __future__ import annotations

import functools
import math
import os
import statistics
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from evolve.evaluators.contract import InvalidProgram, StageUnavailable

FLUSH_BYTES = 256 * 1024 * 1024  # several times the L2 of any current GPU (H100: 50 MB)

MAX_ERROR_CHARS = 600

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
# What crosses the channel: numpy has no bfloat16, so it travels as its 16-bit patterns.
WIRE_DTYPES = {**DTYPES, "float64": torch.float64}
WIRE_ARRAYS = {torch.float16: np.float16, torch.bfloat16: np.uint16, torch.float32: np.float32,
               torch.float64: np.float64}

@dataclass(frozen=True)
class Tolerance:
    """Elementwise bound |got - expected| <= atol + rtol * |expected|, as torch.allclose."""

    atol: float
    rtol: float


@dataclass(frozen=True)
class CaseCheck:
    """How one output compared with the reference; `detail` locates the worst element."""

    case: str
    passed: bool
    max_abs_error: float
    detail: str

    def line(self) -> str:
        verdict = "ok" if self.passed else "MISMATCH"
        return f"{self.case}: {verdict} max_abs_err={self.max_abs_error:.3g} {self.detail}".rstrip()


@dataclass
class CorrectnessReport:
    """All case checks of one candidate; any failure means the candidate scores 0."""

    checks: list[CaseCheck]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[CaseCheck]:
        return [check for check in self.checks if not check.passed]

    def metrics(self) -> dict[str, float]:
        errors = [c.max_abs_error for c in self.checks if math.isfinite(c.max_abs_error)]
        return {
            "cases": float(len(self.checks)),
            "cases_correct": float(len(self.checks) - len(self.failures)),
            "max_abs_error": max(errors, default=0.0),
        }

    def artifact(self) -> str:
        """Failures first, so the text a model reads starts with what to fix."""
        ordered = self.failures + [c for c in self.checks if c.passed]
        return "\n".join(check.line() for check in ordered)


@dataclass(frozen=True)
class Timing:
    median_ms: float
    min_ms: float
    repeats: int


class TritonImportedTooEarly(RuntimeError):
    """Triton was imported before this module, so it can no longer switch to its interpreter."""


def _choose_backend() -> str:
    # Ask NVML, not the CUDA runtime: a process that initialised CUDA cannot fork children
    # that use it, and evaluation servers import this module and then fork.
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    if torch.cuda.is_available() and not _interpreting():
        return "cuda"
    if "triton" in sys.modules and not _interpreting():
        raise TritonImportedTooEarly(
            "no CUDA GPU, and Triton was imported before evaluators.kernel_bench: import "
            "kernel_bench first (or set TRITON_INTERPRET=1) so kernels run in the interpreter")
    os.environ["TRITON_INTERPRET"] = "1"
    return "interpreter"


def backend() -> str:
    """Where kernels run: "cuda", or "interpreter" (Triton's, on CPU tensors) without a GPU.

    Call it before loading a program that defines kernels: a sandboxed child may start
    from a scrubbed environment, so the interpreter switch is set again on every call.
    """
    if _BACKEND == "interpreter":
        os.environ["TRITON_INTERPRET"] = "1"
    return _BACKEND


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


# Triton reads TRITON_INTERPRET once, when it is imported (its own library functions are
# compiled or interpreted from then on), so the choice is made when this module is imported.
_BACKEND = _choose_backend()

def device() -> torch.device:
    return torch.device("cuda" if backend() == "cuda" else "cpu")


def device_name() -> str:
    if backend() == "cuda":
        return torch.cuda.get_device_name()
    return "cpu (Triton interpreter)"


def torch_dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected one of {sorted(DTYPES)}") from None


def compare(case: str, got: object, expected: torch.Tensor, tolerance: Tolerance) -> CaseCheck:
    """Check one candidate output against the reference.

    A result of the wrong type, shape or dtype is not a near miss but a broken answer, so
    it raises InvalidProgram; wrong values (including inf/nan) give a failed CaseCheck.
    """
    if not isinstance(got, torch.Tensor):
        raise InvalidProgram(f"{case}: expected a torch.Tensor, got {type(got).__name__}")
    if got.shape != expected.shape:
        raise InvalidProgram(
            f"{case}: output shape {tuple(got.shape)} != expected {tuple(expected.shape)}")
    if got.dtype != expected.dtype:
        raise InvalidProgram(f"{case}: output dtype {got.dtype} != expected {expected.dtype}")
    if got.device != expected.device:
        raise InvalidProgram(f"{case}: output on {got.device}, expected on {expected.device}")
    # Compared where the reference lives (the GPU when there is one): large outputs are
    # slow to copy and compare on the host.
    g = got.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    error = (g - e).abs()
    bad = ~(error <= tolerance.atol + tolerance.rtol * e.abs())  # also catches nan
    tol = f"(atol={tolerance.atol:g}, rtol={tolerance.rtol:g})"
    if not bool(bad.any()):
        return CaseCheck(case, True, float(error.max()) if error.numel() else 0.0, "")
    error = torch.where(torch.isnan(error), torch.full_like(error, math.inf), error)
    worst = int(torch.argmax(torch.where(bad, error, torch.zeros_like(error))))
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), e.shape))
    detail = (f"{int(bad.sum())}/{bad.numel()} elements off; worst at {list(index)}: "
              f"got {g[index].item():.6g} expected {e[index].item():.6g} {tol}")
    return CaseCheck(case, False, float(error.max()), detail)


def check_cases(cases: Iterable[tuple[str, Callable[[], torch.Tensor], torch.Tensor, Tolerance]],
                ) -> CorrectnessReport:
    """Run each (case, candidate call, reference output, tolerance) and compare.

    An exception inside the candidate's kernel counts as a failed case with its message,
    so one crashing shape is reported like a wrong one.
    """
    checks = []
    for case, run, expected, tolerance in cases:
        try:
            got = run()
        except InvalidProgram:
            raise
        except Exception as exc:  # the candidate's own failure, reported to it
            message = str(exc)  # compiler errors can run to pages; the head names the cause
            if len(message) > MAX_ERROR_CHARS:
                message = message[:MAX_ERROR_CHARS] + " ..."
            checks.append(CaseCheck(case, False, math.inf, f"raised {type(exc).__name__}: {message}"))
            continue
        checks.append(compare(case, got, expected, tolerance))
    return CorrectnessReport(checks)


def to_wire(tensor: torch.Tensor) -> dict[str, Any]:
    """A tensor as plain data for the candidate's process: its dtype's name and a numpy array."""
    host = tensor.detach().contiguous().cpu()
    name = next(k for k, v in WIRE_DTYPES.items() if v == tensor.dtype)
    bits = host.view(torch.int16) if tensor.dtype == torch.bfloat16 else host
    return {"dtype": name, "data": bits.numpy().view(WIRE_ARRAYS[tensor.dtype])}


def from_wire(value: object, what: str) -> torch.Tensor:
    """A tensor the candidate's process sent, on this process's device, or InvalidProgram."""
    if not isinstance(value, dict):
        raise InvalidProgram(f"{what}: expected a tensor, got {type(value).__name__}")
    if "invalid" in value:
        raise InvalidProgram(f"{what}: {str(value['invalid'])[:MAX_ERROR_CHARS]}")
    dtype = WIRE_DTYPES.get(value.get("dtype")) if isinstance(value.get("dtype"), str) else None
    data = value.get("data")
    if dtype is None or not isinstance(data, np.ndarray) or data.dtype != WIRE_ARRAYS[dtype]:
        raise InvalidProgram(f"{what}: not a tensor of a known dtype ({sorted(WIRE_DTYPES)})")
    return torch.from_numpy(data.copy()).view(dtype).to(device())


def candidate_timing(reply: object, wall_ms: float, *, min_repeats: int = 10, max_repeats: int = 100) -> Timing:
    """The kernel times a candidate's process reported, checked against the scorer's own clock.

    Every timed call happened inside the round trip the scorer timed, so their sum cannot
    exceed it: a reply that claims more work than fits, too few or too many repeats, or
    times that are not positive numbers is InvalidProgram. A reply that claims less time
    than the kernel took is not caught here; see the problems' READMEs.
    """
    times = reply.get("times_ms") if isinstance(reply, dict) else None
    if not isinstance(times, list) or not min_repeats <= len(times) <= max_repeats:
        raise InvalidProgram(f"the timing reply must hold {min_repeats} to {max_repeats} times")
    if not all(isinstance(t, float) and math.isfinite(t) and t > 0 for t in times):
        raise InvalidProgram("the timing reply holds times that are not positive finite numbers")
    if sum(times) > wall_ms:
        raise InvalidProgram(f"the timing reply claims {sum(times):.3f} ms of kernel time within a "
                             f"{wall_ms:.3f} ms round trip")
    return Timing(median_ms=statistics.median(times), min_ms=min(times), repeats=len(times))


def require_cuda(what: str) -> None:
    """Raise StageUnavailable unless kernels run compiled on a CUDA GPU."""
    if backend() != "cuda":
        reason = ("kernels run in Triton's interpreter (TRITON_INTERPRET=1)"
                  if torch.cuda.is_available() else "torch.cuda.is_available() is False")
        raise StageUnavailable(f"needs a CUDA GPU: {reason}; {what} not measured")


@functools.cache
def _flush_buffer() -> torch.Tensor:
    return torch.empty(FLUSH_BYTES, dtype=torch.int8, device="cuda")


def time_cuda(fn: Callable[[], object], *, warmup: int = 10, repeats: int = 100,
              min_repeats: int = 10, budget_ms: float = 1500.0) -> Timing:
    """Median time of `fn` on a cold L2 cache, in milliseconds, by CUDA events.

    The first call compiles (Triton JIT) and is not timed; warm-up calls estimate the
    duration so that slow kernels get fewer repeats (at least `min_repeats`) and the
    evaluation stays within its time limit. Before each timed call the flush buffer is
    overwritten so inputs are read from memory, not from a cache warmed by the last call.
    """
    require_cuda("timing")
    flush = _flush_buffer()
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(warmup):
        fn()
    end.record()
    torch.cuda.synchronize()
    estimate_ms = max(start.elapsed_time(end) / max(warmup, 1), 1e-3)
    count = max(min_repeats, min(repeats, int(budget_ms / estimate_ms)))
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(count)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(count)]
    for begin, finish in zip(starts, ends):
        flush.zero_()
        begin.record()
        fn()
        finish.record()
    torch.cuda.synchronize()
    times = [begin.elapsed_time(finish) for begin, finish in zip(starts, ends)]
    return Timing(median_ms=statistics.median(times), min_ms=min(times), repeats=count)


def geometric_mean(values: Iterable[float]) -> float:
    """Mean of speed-up ratios: a 2x gain and a 2x loss cancel, unlike the arithmetic mean."""
    items = list(values)
    if not items or any(v <= 0 or not math.isfinite(v) for v in items):
        raise ValueError(f"geometric mean needs positive finite values, got {items}")
    return math.exp(sum(math.log(v) for v in items) / len(items))


@dataclass(frozen=True)
class CaseTiming:
    case: str
    reference: Timing
    seed: Timing
    candidate: Timing

    @property
    def speedup(self) -> float:
        return self.reference.median_ms / self.candidate.median_ms

    @property
    def speedup_vs_seed(self) -> float:
        return self.seed.median_ms / self.candidate.median_ms

    def line(self) -> str:
        return (f"{self.case}: candidate {self.candidate.median_ms:.4f} ms, torch "
                f"{self.reference.median_ms:.4f} ms, seed {self.seed.median_ms:.4f} ms -> "
                f"x{self.speedup:.3f} vs torch, x{self.speedup_vs_seed:.3f} vs seed")


def timing_summary(timings: list[CaseTiming]) -> tuple[dict[str, float], dict[str, str]]:
    """Score (geometric-mean speed-up over torch), metrics and artifacts of a timed run."""
    speedups = [t.speedup for t in timings]
    metrics = {
        "score": geometric_mean(speedups),
        "speedup_vs_torch": geometric_mean(speedups),
        "speedup_vs_seed": geometric_mean(t.speedup_vs_seed for t in timings),
        "worst_speedup": min(speedups),
        "candidate_ms_total": sum(t.candidate.median_ms for t in timings),
    }
    ranked = sorted(timings, key=lambda t: t.speedup)
    artifacts = {
        "device": device_name(),
        "timing": "\n".join(t.line() for t in timings),
        "slowest_vs_torch": "\n".join(t.line() for t in ranked[:3]),
    }
    return metrics, artifacts

"""Scores a Triton row-wise softmax against torch.softmax: correctness first, then speed.

The program runs in its own process (`scoring: channel`); this process draws fresh inputs
for every evaluation, sends them, computes the reference itself and compares what comes
back (any mismatch scores 0), so a kernel that copies its input, skips rows or replays
answers from an earlier call fails. On a CUDA GPU the candidate's process times its own
kernel (`kernel_timing`, a public module) while this process times torch.softmax and the
seed on the same GPU; the reported times are bounded by this process's clock around the
timed round trip and the timed runs' outputs are checked. Without a GPU the kernels run
in Triton's interpreter on small shapes and the timing stage reports that it needs a GPU.
"""

from __future__ import annotations

import math
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

# isort: off
# kernel_bench before Triton: it decides CUDA or the interpreter.
import torch

from evolve.evaluators import kernel_bench as kb
from evolve.evaluators.contract import InvalidProgram, StageUnavailable, load_program

# Imported once here, in the evaluation server, rather than in every forked evaluation.
import triton  # noqa: F401
# isort: on

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate

HERE = Path(__file__).parent
CHECK_CALL = "kernel_call:check"
TIMED_CALL = "kernel_call:timed"
BACKEND_CALL = "kernel_call:backend"

# Two units in the last place of each output type for values in [0.5, 1]; fp32 leaves room
# for a different summation order over 32k columns.
TOLERANCES = {
    "float32": kb.Tolerance(atol=1e-6, rtol=1e-5),
    "float16": kb.Tolerance(atol=1e-5, rtol=2e-3),
    "bfloat16": kb.Tolerance(atol=1e-5, rtol=1.6e-2),
}

# Above the memory bandwidth of any GPU (H200: 4.8 TB/s), in bytes per millisecond: a kernel
# reads its input and writes its output at least once, so a reported time below that
# traffic at this rate cannot be true, whatever the candidate's process says.
MAX_BYTES_PER_MS = 20e12 / 1000.0

# Odd rows are shifted by this much: exp() of such logits overflows float32, so a kernel
# that skips subtracting the row maximum produces inf/nan there.
LARGE_LOGIT_SHIFT = 100.0


class Case(NamedTuple):
    rows: int
    cols: int
    dtype: str

    @property
    def name(self) -> str:
        return f"{self.dtype}[{self.rows}x{self.cols}]"


def _cases(spec: str) -> tuple[Case, ...]:
    return tuple(Case(int(r), int(c), d) for r, c, d in (item.split(":") for item in spec.split()))


# On a GPU: the shapes timed. In the interpreter: small shapes that still cover short,
# non-power-of-two and 32k-long rows in every dtype.
CASES = {
    ("cuda", "train"): _cases("4096:128:float16 4096:512:bfloat16 4096:1000:float32 "
                              "4096:2048:float16 4096:4096:bfloat16 2048:8192:float16 "
                              "1024:16384:float32 512:32768:bfloat16"),
    ("cuda", "test"): _cases("8192:256:float32 4096:768:float16 4096:1536:bfloat16 "
                             "4096:3000:bfloat16 2048:6000:float32 1024:12288:float16 "
                             "1024:20000:bfloat16 256:32000:float16"),
    ("interpreter", "train"): _cases("3:128:float32 4:200:float16 2:1000:bfloat16 "
                                     "2:4096:float32 2:32768:float16"),
    ("interpreter", "test"): _cases("5:256:bfloat16 3:777:float32 2:3000:float16 "
                                    "2:20000:float32 2:32000:bfloat16"),
}


def _split_cases(backend: str, split: str) -> tuple[Case, ...]:
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    return CASES[(backend, split)]


def fresh_input(case: Case, seed: int | None = None) -> torch.Tensor:
    """4 * randn, odd rows shifted by +100; a new draw each call unless a seed is given."""
    generator = torch.Generator().manual_seed(secrets.randbits(63) if seed is None else seed)
    x = torch.randn(case.rows, case.cols, generator=generator) * 4.0
    x[1::2] += LARGE_LOGIT_SHIFT
    return x.to(kb.torch_dtype(case.dtype)).to(kb.device())


def reference(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x.float(), dim=-1).to(x.dtype)


def _checked(case: Case, answer: object, x: torch.Tensor, what: str = "") -> kb.CaseCheck:
    """One answer of the candidate's process against this process's reference for ``x``."""
    label = f"{case.name}{what}"
    if isinstance(answer, dict) and "raised" in answer:
        return kb.CaseCheck(label, False, math.inf, f"raised {str(answer['raised'])[:kb.MAX_ERROR_CHARS]}")
    got = kb.from_wire(answer, label)
    return kb.compare(label, got, reference(x), TOLERANCES[case.dtype])


def _require_softmax(candidate: Candidate) -> None:
    if not candidate.has("softmax"):
        raise InvalidProgram("the program must define softmax(x: torch.Tensor) -> torch.Tensor")


def _answer(candidate: Candidate, x: torch.Tensor) -> object:
    answers = candidate.call(CHECK_CALL, [kb.to_wire(x)])
    if not isinstance(answers, list) or len(answers) != 1:
        raise InvalidProgram(f"{CHECK_CALL} answered one input with something else")
    return answers[0]


def check_correctness(candidate: Candidate, cases: tuple[Case, ...]) -> kb.CorrectnessReport:
    """The program's softmax on a fresh input of every case against torch's.

    One round trip per case: the GPU cases together come to about 200 MB each way.
    """
    _require_softmax(candidate)
    checks = []
    for case in cases:
        x = fresh_input(case)
        checks.append(_checked(case, _answer(candidate, x), x))
    return kb.CorrectnessReport(checks)


def _result(report: kb.CorrectnessReport, score: float) -> dict:
    return {"score": score, **report.metrics(), "artifacts": {"correctness": report.artifact()}}


def evaluate_quick(candidate: Candidate, split: str = "train") -> dict:
    """Correctness on the small shapes only: cheap enough for the interpreter and CI."""
    report = check_correctness(candidate, _split_cases("interpreter", split))
    return _result(report, 1.0 if report.passed else 0.0)


def candidate_time(candidate: Candidate, case: Case) -> kb.Timing:
    """The candidate's kernel timed in its own process on two fresh inputs, checked here."""
    inputs = [fresh_input(case), fresh_input(case)]
    started = time.perf_counter()
    reply = candidate.call(TIMED_CALL, [kb.to_wire(x) for x in inputs])
    wall_ms = (time.perf_counter() - started) * 1000.0
    if isinstance(reply, dict) and "unavailable" in reply:
        raise StageUnavailable(f"needs a CUDA GPU in the candidate's process: {reply['unavailable']}")
    if isinstance(reply, dict) and "raised" in reply:
        raise InvalidProgram(f"{case.name}: the kernel raised while timed: {reply['raised']}")
    timing = kb.candidate_timing(reply, wall_ms)
    floor_ms = 2 * inputs[0].numel() * inputs[0].element_size() / MAX_BYTES_PER_MS
    if timing.min_ms < floor_ms:
        raise InvalidProgram(f"{case.name}: a reported time of {timing.min_ms:.3g} ms is below the "
                             f"{floor_ms:.3g} ms that reading and writing the tensor takes on any GPU")
    outputs = reply.get("outputs")
    if not isinstance(outputs, list) or len(outputs) != len(inputs):
        raise InvalidProgram(f"{case.name}: the timing reply must hold the last output for each input")
    for j, (answer, x) in enumerate(zip(outputs, inputs)):
        check = _checked(case, answer, x, f" timed input {j}")
        if not check.passed:
            raise InvalidProgram(f"an output of the timed runs is stale or wrong: {check.line()}")
    return timing


def _time_case(candidate: Candidate, case: Case, seed: object) -> kb.CaseTiming:
    x = fresh_input(case)
    reference_timing = kb.time_cuda(lambda: torch.softmax(x, dim=-1))
    seed_timing = kb.time_cuda(lambda: seed.softmax(x))
    return kb.CaseTiming(case.name, reference_timing, seed_timing, candidate_time(candidate, case))


def _require_same_backend(candidate: Candidate, backend: str) -> None:
    theirs = candidate.call(BACKEND_CALL)
    if theirs != backend:
        raise StageUnavailable(f"kernels run on {backend} here but on {theirs!r} in the candidate's "
                               f"process; set TRITON_INTERPRET alike for both")


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    backend = kb.backend()
    cases = _split_cases(backend, split)
    _require_softmax(candidate)
    _require_same_backend(candidate, backend)  # else GPU-sized cases would go to an interpreter
    report = check_correctness(candidate, cases)
    if not report.passed:
        return _result(report, 0.0)
    kb.require_cuda(f"speed-up over torch.softmax ({len(cases)} cases correct on {backend})")
    seed = load_program(HERE / "seed.py", "softmax_seed")
    timings = [_time_case(candidate, case, seed) for case in cases]
    metrics, artifacts = kb.timing_summary(timings)
    return {**report.metrics(), **metrics,
            "artifacts": {"correctness": report.artifact(), **artifacts}}

"""Scores a Triton row-wise softmax against torch.softmax: correctness first, then speed.

Correctness is checked on every case of the split (any mismatch scores 0). On a CUDA GPU
the score is the geometric-mean speed-up over torch.softmax; without one, the kernels run
in Triton's interpreter on small shapes and the timing stage reports that it needs a GPU.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import torch

from evaluators import kernel_bench as kb  # before Triton: it decides CUDA or interpreter
from evaluators.contract import InvalidProgram, load_program

# Imported once here, in the evaluation server, rather than in every forked candidate.
import triton  # noqa: F401, I001

HERE = Path(__file__).parent

# Two units in the last place of each output type for values in [0.5, 1]; fp32 leaves room
# for a different summation order over 32k columns.
TOLERANCES = {
    "float32": kb.Tolerance(atol=1e-6, rtol=1e-5),
    "float16": kb.Tolerance(atol=1e-5, rtol=2e-3),
    "bfloat16": kb.Tolerance(atol=1e-5, rtol=1.6e-2),
}

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


def _input(case: Case, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(case.rows, case.cols, generator=generator) * 4.0
    x[1::2] += LARGE_LOGIT_SHIFT
    return x.to(kb.torch_dtype(case.dtype)).to(kb.device())


def _reference(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x.float(), dim=-1).to(x.dtype)


def _guarded_call(program: ModuleType, x: torch.Tensor) -> torch.Tensor:
    with kb.torch_compute_forbidden():
        return program.softmax(x)


def _launcher(program: ModuleType) -> ModuleType:
    if not callable(getattr(program, "softmax", None)):
        raise InvalidProgram("the program must define softmax(x: torch.Tensor) -> torch.Tensor")
    return program


def check_correctness(program: ModuleType, cases: tuple[Case, ...], seed: int = 0
                      ) -> kb.CorrectnessReport:
    """Compare the program's softmax with torch's on each case; torch ops in it are rejected."""
    def case_run(case: Case, index: int):
        x = _input(case, seed + index)
        expected = _reference(x)
        return case.name, lambda: _guarded_call(program, x.clone()), expected, TOLERANCES[case.dtype]
    return kb.check_cases(case_run(case, i) for i, case in enumerate(cases))


def _result(report: kb.CorrectnessReport, score: float) -> dict:
    return {"score": score, **report.metrics(), "artifacts": {"correctness": report.artifact()}}


def evaluate_quick(program_path: str, split: str = "train") -> dict:
    """Correctness on the small shapes only: cheap enough for the interpreter and CI."""
    kb.backend()
    program = _launcher(load_program(program_path))
    report = check_correctness(program, _split_cases("interpreter", split))
    return _result(report, 1.0 if report.passed else 0.0)


def _time_case(case: Case, index: int, program: ModuleType, seed: ModuleType) -> kb.CaseTiming:
    x = _input(case, 1000 + index)
    reference = kb.time_cuda(lambda: torch.softmax(x, dim=-1))
    seed_timing = kb.time_cuda(lambda: seed.softmax(x))
    candidate = kb.time_cuda(lambda: program.softmax(x))
    # A kernel that memoises its last output would be fast and still look correct:
    # change the input in place and check the next answer follows it.
    x.copy_(_input(case, 5000 + index))
    check = kb.compare(case.name, _guarded_call(program, x), _reference(x), TOLERANCES[case.dtype])
    if not check.passed:
        raise InvalidProgram(f"output after the timing runs is stale or wrong: {check.line()}")
    return kb.CaseTiming(case.name, reference, seed_timing, candidate)


def evaluate(program_path: str, split: str = "train") -> dict:
    backend = kb.backend()
    program = _launcher(load_program(program_path))
    cases = _split_cases(backend, split)
    report = check_correctness(program, cases)
    if not report.passed:
        return _result(report, 0.0)
    kb.require_cuda(f"speed-up over torch.softmax ({len(cases)} cases correct on {backend})")
    seed = load_program(HERE / "seed.py", "softmax_seed")
    timings = [_time_case(case, i, program, seed) for i, case in enumerate(cases)]
    metrics, artifacts = kb.timing_summary(timings)
    return {**report.metrics(), **metrics,
            "artifacts": {"correctness": report.artifact(), **artifacts}}

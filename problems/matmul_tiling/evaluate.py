"""Scores a tiling heuristic by the speed of the fixed Triton matmul it configures.

The heuristic runs in its own process (`scoring: channel`) and is asked, in one round
trip, for a tiling per case; its answers are plain data, validated here (powers of two in
range, fits shared memory and registers). The fixed kernel is the problem's own code, so
it runs here, in the scorer's process, on inputs drawn afresh for every evaluation: the
output check against torch and, on a CUDA GPU, the timing (geometric-mean speed-up over
torch.matmul, i.e. cuBLAS) involve nothing of the candidate's but its tilings. Without a
GPU the kernel runs in Triton's interpreter on small shapes and timing reports that it
needs a GPU.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import matmul_kernel
import torch

from evolve.evaluators import kernel_bench as kb
from evolve.evaluators.contract import InvalidProgram, load_program

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate

HERE = Path(__file__).parent

# Outputs are O(1) (inputs scaled by K^-1/4); room for rounding the output to 16 bits plus
# a different float32 summation order than the reference over K up to 14336.
TOLERANCES = {
    "float16": kb.Tolerance(atol=1e-2, rtol=1e-2),
    "bfloat16": kb.Tolerance(atol=6e-2, rtol=2e-2),
}


class Case(NamedTuple):
    m: int
    n: int
    k: int
    dtype: str

    @property
    def name(self) -> str:
        return f"{self.dtype}[M={self.m} N={self.n} K={self.k}]"


def _cases(spec: str) -> tuple[Case, ...]:
    return tuple(Case(int(m), int(n), int(k), d)
                 for m, n, k, d in (item.split(":") for item in spec.split()))


# On a GPU: square, skinny (decode-like M), MLP-like and odd shapes. In the interpreter:
# small shapes with ragged edges in every dimension.
CASES = {
    ("cuda", "train"): _cases("4096:4096:4096:float16 8192:8192:1024:bfloat16 "
                              "2048:8192:2048:float16 16:4096:4096:bfloat16 "
                              "128:11008:4096:float16 1024:1024:8192:bfloat16 "
                              "512:14336:4096:float16 3000:1000:2000:float16"),
    ("cuda", "test"): _cases("8192:4096:4096:bfloat16 64:12288:4096:float16 "
                             "4096:1024:1024:float16 32:8192:8192:bfloat16 "
                             "1000:3000:1500:bfloat16 256:4096:14336:float16 "
                             "6144:6144:512:float16 2048:2048:2048:bfloat16"),
    ("interpreter", "train"): _cases("64:64:64:float16 100:72:48:bfloat16 33:130:80:float16 "
                                     "16:200:128:bfloat16 96:40:160:float16"),
    ("interpreter", "test"): _cases("48:48:48:bfloat16 70:90:112:float16 8:256:64:float16 "
                                    "128:64:96:bfloat16 57:33:200:bfloat16"),
}


def _split_cases(backend: str, split: str) -> tuple[Case, ...]:
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    return CASES[(backend, split)]


def fresh_inputs(case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """A and B of one case, drawn anew on every call: no answer can be remembered."""
    generator = torch.Generator().manual_seed(secrets.randbits(63))
    scale = case.k ** -0.25
    a = torch.randn(case.m, case.k, generator=generator) * scale
    b = torch.randn(case.k, case.n, generator=generator) * scale
    dtype, device = kb.torch_dtype(case.dtype), kb.device()
    return a.to(dtype).to(device), b.to(dtype).to(device)


def _reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.float() @ b.float()).to(a.dtype)


def choose_configs(candidate: Candidate, cases: tuple[Case, ...]) -> list[matmul_kernel.TileConfig]:
    """Ask the heuristic about every case in one round trip and validate each answer."""
    if not candidate.has("choose_config"):
        raise InvalidProgram("the program must define choose_config(M, N, K, dtype) -> "
                             "(BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, num_warps, num_stages)")
    answers = candidate.call_many("choose_config", [(c.m, c.n, c.k, c.dtype) for c in cases])
    return [matmul_kernel.validate_config(answer, c.dtype, f"choose_config({c.m}, {c.n}, {c.k}, {c.dtype!r})")
            for answer, c in zip(answers, cases)]


def _seed_configs(cases: tuple[Case, ...]) -> list[matmul_kernel.TileConfig]:
    """The seed's tilings, from the problem's own seed.py (trusted code), in this process."""
    seed = load_program(HERE / "seed.py", "matmul_seed")
    return [matmul_kernel.validate_config(seed.choose_config(c.m, c.n, c.k, c.dtype), c.dtype, "the seed")
            for c in cases]


def check_correctness(configs: list[matmul_kernel.TileConfig], cases: tuple[Case, ...]) -> kb.CorrectnessReport:
    def case_run(index: int):
        case, config = cases[index], configs[index]
        a, b = fresh_inputs(case)
        return (f"{case.name} {config.label()}", lambda: matmul_kernel.matmul(a, b, config),
                _reference(a, b), TOLERANCES[case.dtype])
    return kb.check_cases(case_run(i) for i in range(len(cases)))


def _result(report: kb.CorrectnessReport, configs: list, score: float) -> dict:
    return {"score": score, **report.metrics(), "distinct_configs": float(len(set(configs))),
            "artifacts": {"correctness": report.artifact()}}


def evaluate_quick(candidate: Candidate, split: str = "train") -> dict:
    """Validation and correctness on the small shapes only: cheap enough for the interpreter."""
    cases = _split_cases("interpreter", split)
    configs = choose_configs(candidate, cases)
    report = check_correctness(configs, cases)
    return _result(report, configs, 1.0 if report.passed else 0.0)


def _time_case(case: Case, config: matmul_kernel.TileConfig,
               seed_config: matmul_kernel.TileConfig) -> kb.CaseTiming:
    a, b = fresh_inputs(case)
    return kb.CaseTiming(
        f"{case.name} {config.label()}",
        reference=kb.time_cuda(lambda: torch.matmul(a, b)),
        seed=kb.time_cuda(lambda: matmul_kernel.matmul(a, b, seed_config)),
        candidate=kb.time_cuda(lambda: matmul_kernel.matmul(a, b, config)),
    )


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    backend = kb.backend()
    cases = _split_cases(backend, split)
    configs = choose_configs(candidate, cases)
    report = check_correctness(configs, cases)
    if not report.passed:
        return _result(report, configs, 0.0)
    kb.require_cuda(f"speed-up over torch.matmul ({len(cases)} cases correct on {backend})")
    seed_configs = _seed_configs(cases)
    timings = [_time_case(case, configs[i], seed_configs[i]) for i, case in enumerate(cases)]
    metrics, artifacts = kb.timing_summary(timings)
    result = _result(report, configs, metrics["score"])
    return {**result, **metrics, "artifacts": {**result["artifacts"], **artifacts}}

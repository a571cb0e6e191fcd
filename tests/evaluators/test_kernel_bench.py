import math
import os

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="the kernel benchmark needs the [gpu] extra: pip install torch==2.13.0 && pip install -e .[gpu]")

from evolve.evaluators import kernel_bench as kb  # noqa: E402
from evolve.evaluators.contract import InvalidProgram, StageUnavailable  # noqa: E402

TOL = kb.Tolerance(atol=1e-3, rtol=1e-3)


def test_matching_output_passes_and_reports_its_error():
    expected = torch.tensor([[0.25, 0.75], [0.5, 0.5]])
    check = kb.compare("case", expected + 1e-4, expected, TOL)
    assert check.passed
    assert check.max_abs_error == pytest.approx(1e-4, rel=1e-3)


def test_mismatch_names_the_worst_element_and_both_values():
    expected = torch.zeros(3, 4)
    got = expected.clone()
    got[2, 1] = 0.5
    got[0, 0] = 0.01
    check = kb.compare("fp32[3x4]", got, expected, TOL)
    assert not check.passed
    assert check.max_abs_error == pytest.approx(0.5)
    assert "2/12 elements off" in check.detail
    assert "worst at [2, 1]" in check.detail
    assert "got 0.5 expected 0" in check.detail
    assert check.line().startswith("fp32[3x4]: MISMATCH")


def test_nan_and_inf_outputs_fail():
    expected = torch.ones(4)
    for bad in (float("nan"), float("inf")):
        got = expected.clone()
        got[3] = bad
        check = kb.compare("case", got, expected, TOL)
        assert not check.passed
        assert "worst at [3]" in check.detail
        assert math.isinf(check.max_abs_error)


def test_tolerance_is_relative_to_the_expected_value():
    expected = torch.tensor([100.0])
    assert kb.compare("c", torch.tensor([100.05]), expected, TOL).passed
    assert not kb.compare("c", torch.tensor([100.2]), expected, TOL).passed


@pytest.mark.parametrize(("got", "reason"), [
    ([1.0, 2.0], "expected a torch.Tensor"),
    (torch.ones(2, 3), "output shape (2, 3) != expected (3, 2)"),
    (torch.ones(3, 2, dtype=torch.float16), "output dtype torch.float16"),
    (torch.ones(3, 2, device="meta"), "output on meta, expected on cpu"),
])
def test_wrong_kind_of_output_is_invalid_not_a_near_miss(got, reason):
    with pytest.raises(InvalidProgram, match=reason.replace("(", r"\(").replace(")", r"\)")):
        kb.compare("case", got, torch.ones(3, 2), TOL)


def test_check_cases_reports_a_crash_as_a_failed_case_and_lists_failures_first():
    expected = torch.ones(2)

    def crash():
        raise RuntimeError("out of resources: shared memory")

    report = kb.check_cases([
        ("good", lambda: expected.clone(), expected, TOL),
        ("crash", crash, expected, TOL),
        ("off", lambda: expected * 2, expected, TOL),
    ])
    assert not report.passed
    assert [c.case for c in report.failures] == ["crash", "off"]
    assert "raised RuntimeError: out of resources" in report.artifact().splitlines()[0]
    assert report.artifact().splitlines()[-1].startswith("good: ok")
    metrics = report.metrics()
    assert metrics["cases"] == 3 and metrics["cases_correct"] == 1
    assert metrics["max_abs_error"] == pytest.approx(1.0)  # finite errors only


def test_check_cases_lets_invalid_answers_through():
    def hack():
        raise InvalidProgram("reward hack")

    with pytest.raises(InvalidProgram, match="reward hack"):
        kb.check_cases([("case", hack, torch.ones(1), TOL)])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_tensors_travel_as_plain_arrays_and_come_back_bit_for_bit(dtype):
    x = torch.randn(3, 4).to(dtype)
    wire = kb.to_wire(x)
    assert isinstance(wire["data"], np.ndarray) and wire["data"].dtype.kind in "uf"
    back = kb.from_wire(wire, "case")
    assert back.dtype == dtype and torch.equal(back.view(torch.uint8), x.view(torch.uint8))


@pytest.mark.parametrize(("value", "reason"), [
    ([1.0, 2.0], "expected a tensor, got list"),
    ({"invalid": "the launcher called torch op aten.exp"}, "case: the launcher called torch op aten.exp"),
    ({"dtype": "float8", "data": np.zeros(2, np.float32)}, "not a tensor of a known dtype"),
    ({"dtype": "bfloat16", "data": np.zeros(2, np.float32)}, "not a tensor of a known dtype"),
    ({"dtype": "float16"}, "not a tensor of a known dtype"),
])
def test_what_is_not_a_tensor_is_an_invalid_answer(value, reason):
    with pytest.raises(InvalidProgram, match=reason):
        kb.from_wire(value, "case")


def test_candidate_timing_takes_reported_times_that_fit_in_the_scorers_round_trip():
    timing = kb.candidate_timing({"times_ms": [2.0, 1.0, 3.0] * 4}, wall_ms=40.0)
    assert timing == kb.Timing(median_ms=2.0, min_ms=1.0, repeats=12)


@pytest.mark.parametrize(("reply", "reason"), [
    ({"times_ms": [2.0] * 12}, "claims 24.000 ms of kernel time within a 20.000 ms round trip"),
    ({"times_ms": [1.0] * 5}, "10 to 100 times"),
    ({"times_ms": [1.0] * 101}, "10 to 100 times"),
    ({"times_ms": [1.0] * 9 + [0.0]}, "not positive finite"),
    ({"times_ms": [1.0] * 9 + [math.nan]}, "not positive finite"),
    ({"times_ms": [1.0] * 9 + [1]}, "not positive finite"),
    ([1.0] * 10, "10 to 100 times"),
])
def test_candidate_timing_rejects_replies_that_cannot_be_true(reply, reason):
    with pytest.raises(InvalidProgram, match=reason):
        kb.candidate_timing(reply, wall_ms=20.0)


def test_without_cuda_kernels_are_interpreted_and_timing_is_unavailable():
    if torch.cuda.is_available():
        assert kb.backend() == "cuda"
        kb.require_cuda("timing")
        return
    assert kb.backend() == "interpreter"
    assert os.environ["TRITON_INTERPRET"] == "1"
    assert kb.device() == torch.device("cpu")
    with pytest.raises(StageUnavailable, match="needs a CUDA GPU: torch.cuda.is_available"):
        kb.require_cuda("speed-up")
    with pytest.raises(StageUnavailable, match="timing not measured"):
        kb.time_cuda(lambda: None)


def test_backend_restores_the_interpreter_switch_in_a_scrubbed_environment(monkeypatch):
    if kb.backend() == "cuda":
        monkeypatch.delenv("TRITON_INTERPRET", raising=False)
        kb.backend()
        assert "TRITON_INTERPRET" not in os.environ
        return
    monkeypatch.delenv("TRITON_INTERPRET")
    kb.backend()
    assert os.environ["TRITON_INTERPRET"] == "1"


def test_torch_dtype_names():
    assert kb.torch_dtype("bfloat16") is torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype 'fp8'"):
        kb.torch_dtype("fp8")


def test_geometric_mean_balances_gains_and_losses():
    assert kb.geometric_mean([2.0, 0.5]) == pytest.approx(1.0)
    assert kb.geometric_mean([4.0, 1.0]) == pytest.approx(2.0)
    for bad in ([], [1.0, 0.0], [float("nan")]):
        with pytest.raises(ValueError):
            kb.geometric_mean(bad)


def _timing(ms: float) -> kb.Timing:
    return kb.Timing(median_ms=ms, min_ms=ms * 0.9, repeats=10)


def test_timing_summary_scores_speedup_over_torch_and_names_the_slowest_case():
    timings = [
        kb.CaseTiming("fast", reference=_timing(2.0), seed=_timing(4.0), candidate=_timing(1.0)),
        kb.CaseTiming("slow", reference=_timing(1.0), seed=_timing(2.0), candidate=_timing(2.0)),
    ]
    metrics, artifacts = kb.timing_summary(timings)
    assert metrics["score"] == pytest.approx(1.0)  # sqrt(2 * 0.5)
    assert metrics["speedup_vs_seed"] == pytest.approx(math.sqrt(4.0 * 1.0))
    assert metrics["worst_speedup"] == pytest.approx(0.5)
    assert metrics["candidate_ms_total"] == pytest.approx(3.0)
    assert artifacts["slowest_vs_torch"].startswith("slow: candidate 2.0000 ms")
    assert "x0.500 vs torch, x1.000 vs seed" in artifacts["timing"]
    assert artifacts["device"]


class _FakeGpu:
    """A clock that only the timed function and the L2 flush advance, read by fake CUDA events."""

    def __init__(self, kernel_ms: float, flush_ms: float) -> None:
        self.now = 0.0
        self.kernel_ms, self.flush_ms = kernel_ms, flush_ms
        self.kernel_calls = self.flushes = 0
        gpu = self

        class Event:
            def __init__(self, enable_timing: bool = False) -> None:
                assert enable_timing
                self.at = None

            def record(self) -> None:
                self.at = gpu.now

            def elapsed_time(self, end: "Event") -> float:
                return end.at - self.at

        self.Event = Event

    def kernel(self) -> None:
        self.kernel_calls += 1
        self.now += self.kernel_ms

    def zero_(self) -> None:
        self.flushes += 1
        self.now += self.flush_ms


@pytest.fixture
def fake_gpu(monkeypatch):
    def install(kernel_ms: float, flush_ms: float = 100.0) -> _FakeGpu:
        gpu = _FakeGpu(kernel_ms, flush_ms)
        monkeypatch.setattr(kb, "require_cuda", lambda what: None)
        monkeypatch.setattr(kb, "_flush_buffer", lambda: gpu)
        monkeypatch.setattr(torch.cuda, "Event", gpu.Event)
        monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
        return gpu
    return install


def test_time_cuda_flushes_before_every_repeat_and_times_only_the_kernel(fake_gpu):
    gpu = fake_gpu(kernel_ms=0.5)
    timing = kb.time_cuda(gpu.kernel, warmup=4, repeats=30, budget_ms=1000.0)
    assert timing.repeats == 30
    assert gpu.flushes == 30
    assert gpu.kernel_calls == 1 + 4 + 30  # compile call, warm-up, timed repeats
    assert timing.median_ms == pytest.approx(0.5)  # the 100 ms flushes are outside the events
    assert timing.min_ms == pytest.approx(0.5)


def test_time_cuda_gives_slow_kernels_fewer_repeats_within_its_budget(fake_gpu):
    gpu = fake_gpu(kernel_ms=40.0)
    timing = kb.time_cuda(gpu.kernel, warmup=2, repeats=100, min_repeats=5, budget_ms=600.0)
    assert timing.repeats == 15  # 600 ms / 40 ms, estimated from the warm-up
    very_slow = fake_gpu(kernel_ms=500.0)
    assert kb.time_cuda(very_slow.kernel, warmup=1, min_repeats=5, budget_ms=600.0).repeats == 5


def test_a_long_crash_message_is_cut_to_its_head():
    def crash():
        raise RuntimeError("ptxas error: " + "x" * 5000)

    report = kb.check_cases([("case", crash, torch.ones(1), TOL)])
    detail = report.failures[0].detail
    assert detail.startswith("raised RuntimeError: ptxas error: xxx")
    assert detail.endswith(" ...") and len(detail) < kb.MAX_ERROR_CHARS + 50

import textwrap
from pathlib import Path

import pytest

REASON = "kernel problems need the [gpu] extra: pip install torch==2.13.0 && pip install -e .[gpu]"
torch = pytest.importorskip("torch", reason=REASON)
kb = pytest.importorskip("evolve.evaluators.kernel_bench", reason=REASON)  # before Triton
pytest.importorskip("triton", reason=REASON)

from evolve.evaluators.channel import open_candidate  # noqa: E402
from evolve.evaluators.contract import InvalidProgram, StageUnavailable  # noqa: E402
from evolve.evaluators.problem import load_problem  # noqa: E402
from tests.support.problem_files import load_problem_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[2] / "problems" / "triton_softmax"
SEED = (ROOT / "seed.py").read_text()

evaluator = load_problem_file("triton_softmax")
kernel_call = load_problem_file("triton_softmax", "kernel_call.py")
kernel_timing = load_problem_file("triton_softmax", "kernel_timing.py")

pytestmark = pytest.mark.slow  # every test starts a candidate process that imports torch and Triton


def _candidate(path: Path | str):
    """The program in its own process, with the problem's public modules importable, as in a run."""
    return open_candidate(path, public=[ROOT])


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    """The seed with one piece changed: the smallest realistic wrong kernel."""
    assert old in SEED
    path = tmp_path / "candidate.py"
    path.write_text(SEED.replace(old, new))
    return path


def _quick(path: Path | str, split: str = "train") -> dict:
    with _candidate(path) as candidate:
        return evaluator.evaluate_quick(candidate, split)


@pytest.fixture(scope="module")
def seed():
    with _candidate(ROOT / "seed.py") as candidate:
        yield candidate


def test_problem_yaml_runs_the_kernel_on_the_channel_with_one_gpu():
    problem = load_problem(ROOT)
    assert problem.name == "triton_softmax"
    assert problem.scoring == "channel"
    assert problem.candidate.public == ["kernel_call.py", "kernel_timing.py"]
    assert {"torch", "triton"} <= set(problem.candidate.packages)
    assert problem.limits.gpus == 1
    assert problem.cascade_threshold == 1.0
    assert {f["name"] for f in problem.features} == {"complexity", "worst_speedup"}
    assert "softmax(x: torch.Tensor) -> torch.Tensor" in problem.description


@pytest.mark.parametrize("program", ["seed.py", "baselines/online_softmax.py"])
def test_seed_and_baseline_are_correct_on_every_case(program):
    with _candidate(ROOT / program) as candidate:
        for split in ("train", "test"):
            result = evaluator.evaluate_quick(candidate, split)
            assert result["score"] == 1.0
            assert result["cases_correct"] == result["cases"] == 5
            lines = result["artifacts"]["correctness"].splitlines()
            assert len(lines) == 5 and all(": ok" in line for line in lines)


def test_train_and_test_splits_use_different_shapes(seed):
    train = evaluator.evaluate_quick(seed, "train")["artifacts"]["correctness"]
    test = evaluator.evaluate_quick(seed, "test")["artifacts"]["correctness"]
    names = [{line.split(":")[0] for line in text.splitlines()} for text in (train, test)]
    assert names[0].isdisjoint(names[1])
    for backend in ("cuda", "interpreter"):
        assert set(evaluator.CASES[(backend, "train")]).isdisjoint(evaluator.CASES[(backend, "test")])
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        evaluator.evaluate_quick(seed, "dev")


def test_full_evaluation_needs_a_gpu_for_timing(seed):
    if kb.backend() == "cuda":
        result = evaluator.evaluate(seed)
        assert result["score"] > 0 and result["speedup_vs_seed"] == pytest.approx(1.0, rel=0.2)
        return
    with pytest.raises(StageUnavailable, match="needs a CUDA GPU.*5 cases correct on interpreter"):
        evaluator.evaluate(seed)


def test_inputs_are_drawn_afresh_for_every_evaluation():
    first, second = (evaluator.fresh_input(evaluator.Case(4, 64, "float32")) for _ in range(2))
    assert not torch.equal(first, second)
    assert bool((first[1::2].mean(dim=1) > 50).all())  # odd rows keep the large-logit shift


def test_kernel_without_max_subtraction_fails_on_large_logits(tmp_path):
    result = _quick(_variant(tmp_path, "    x = x - tl.max(x, axis=0)\n", ""))
    assert result["score"] == 0.0
    first = result["artifacts"]["correctness"].splitlines()[0]
    assert "MISMATCH" in first and "got nan" in first and "worst at [1, " in first
    assert result["cases_correct"] == 0  # every case has a shifted row


def test_wrong_reduction_fails_with_the_mismatch_in_artifacts(tmp_path):
    with _candidate(_variant(tmp_path, "tl.sum(numerator, axis=0)", "tl.max(numerator, axis=0)")) as candidate:
        result = evaluator.evaluate(candidate)  # a wrong kernel scores 0 before timing is needed
    assert result["score"] == 0.0
    first = result["artifacts"]["correctness"].splitlines()[0]
    assert "MISMATCH" in first and "elements off" in first and "expected" in first


@pytest.mark.parametrize(("old", "new"), [
    # an identity kernel: stores its input
    ("y = numerator / denominator",
     "y = tl.load(in_ptr + row * in_row_stride + offsets, mask=mask, other=0.0).to(tl.float32)"),
    # a kernel that skips work: only every other row
    ("softmax_kernel[(n_rows,)]", "softmax_kernel[((n_rows + 1) // 2,)]"),
    ("y = numerator / denominator", "y = numerator / (denominator + 1.0)"),
])
def test_kernels_that_copy_or_skip_work_score_zero(tmp_path, old, new):
    with _candidate(_variant(tmp_path, old, new)) as candidate:
        result = evaluator.evaluate(candidate)
    assert result["score"] == 0.0 and result["cases_correct"] < result["cases"]


def test_a_kernel_that_remembers_answers_fails_on_the_next_evaluations_inputs(tmp_path):
    program = _variant(tmp_path, "def softmax(x: torch.Tensor) -> torch.Tensor:\n", (
        "_remembered = {}\n\n\n"
        "def softmax(x: torch.Tensor) -> torch.Tensor:\n"
        "    if x.shape not in _remembered:\n"
        "        _remembered[x.shape] = _softmax(x)\n"
        "    return _remembered[x.shape]\n\n\n"
        "def _softmax(x: torch.Tensor) -> torch.Tensor:\n"))
    with _candidate(program) as candidate:
        assert evaluator.evaluate_quick(candidate)["score"] == 1.0  # first answers are honest
        again = evaluator.evaluate_quick(candidate)  # same process, same shapes, new inputs
    assert again["score"] == 0.0 and again["cases_correct"] == 0


@pytest.mark.parametrize(("old", "new", "reason"), [
    ("    out = torch.empty_like(x)\n    softmax_kernel",
     "    return torch.softmax(x, dim=-1)\n    out = torch.empty_like(x)\n    softmax_kernel",
     "aten._softmax"),
    ("    return out\n", "    return out[:, 1:]\n", "output shape"),
    ("    return out\n", "    return out.float()\n", r"aten._to_copy|output dtype"),
    ("    return out\n", "    return out.tolist()\n", "expected a torch.Tensor, got list"),
    ("def softmax(x", "def soft_max(x", "must define softmax"),
])
def test_reward_hacks_are_rejected_with_a_reason(tmp_path, old, new, reason):
    with pytest.raises(InvalidProgram, match=reason):
        _quick(_variant(tmp_path, old, new))


def test_launcher_guard_allows_allocation_and_rejects_torch_math():
    x = torch.randn(4, 8)
    with kernel_call._LauncherGuard():
        out = torch.empty_like(x)
        out.copy_(x)
    with pytest.raises(kernel_call.ForbiddenTorchOp, match="aten._softmax"), kernel_call._LauncherGuard():
        torch.softmax(x, dim=-1)
    with pytest.raises(kernel_call.ForbiddenTorchOp, match="aten.exp"), kernel_call._LauncherGuard():
        x.exp()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_tensors_cross_the_channel_bit_for_bit_both_ways(dtype):
    x = torch.randn(3, 5).to(kb.torch_dtype(dtype))
    there = kernel_call.tensor(kb.to_wire(x))
    back = kb.from_wire(kernel_call.plain(there, there), "case")
    assert back.dtype == x.dtype and torch.equal(back.view(torch.uint8), x.view(torch.uint8))


def _forging(tmp_path: Path, timed_body: str) -> Path:
    """The seed plus a rewrite of its own process's timing call: what a hostile program can do."""
    path = tmp_path / "forger.py"
    path.write_text(SEED + "\n\nimport kernel_call\n\n\ndef _forged(inputs):\n"
                    + textwrap.indent(textwrap.dedent(timed_body), "    ")
                    + "\n\nkernel_call.timed = _forged\n")
    return path


@pytest.mark.parametrize(("body", "reason"), [
    ("return {'times_ms': [1e6] * 10, 'outputs': kernel_call.check(inputs)}",
     "claims .* ms of kernel time within a"),
    ("return {'times_ms': [0.01] * 10, 'outputs': kernel_call.check(inputs[:1]) * 2}",
     "timed runs is stale or wrong"),
    ("return {'times_ms': [0.01] * 3, 'outputs': kernel_call.check(inputs)}", "10 to 100 times"),
    ("return {'times_ms': [0.01] * 10, 'outputs': []}", "last output for each input"),
    ("return {'times_ms': [1e-9] * 10, 'outputs': kernel_call.check(inputs)}",
     "below the .* ms that reading and writing the tensor takes on any GPU"),
])
def test_forged_timing_replies_that_the_scorer_can_check_are_rejected(tmp_path, body, reason):
    case = evaluator.Case(2, 300, "float16")
    with _candidate(_forging(tmp_path, body)) as candidate, pytest.raises(InvalidProgram, match=reason):
        evaluator.candidate_time(candidate, case)


def test_an_under_reported_time_with_honest_outputs_is_what_the_scorer_must_trust(tmp_path):
    """The README's stated limit: the kernel's own clock runs in the candidate's process."""
    body = "return {'times_ms': [0.001] * 10, 'outputs': kernel_call.check(inputs)}"
    with _candidate(_forging(tmp_path, body)) as candidate:
        timing = evaluator.candidate_time(candidate, evaluator.Case(2, 300, "bfloat16"))
    assert timing.median_ms == pytest.approx(0.001) and timing.repeats == 10


def test_an_honest_process_times_its_kernel_only_on_a_gpu(seed):
    if kb.backend() == "cuda":
        timing = evaluator.candidate_time(seed, evaluator.Case(2048, 1000, "float32"))
        assert timing.repeats >= 10 and timing.median_ms > 0
        return
    with pytest.raises(StageUnavailable, match="candidate's process: kernels run in Triton's interpreter"):
        evaluator.candidate_time(seed, evaluator.Case(2, 300, "float32"))


class _EventClock:
    """CUDA events on a clock that only the timed kernel advances."""

    now = 0.0

    def __init__(self, enable_timing: bool = False) -> None:
        self.at = 0.0

    def record(self) -> None:
        self.at = _EventClock.now

    def elapsed_time(self, end: "_EventClock") -> float:
        return end.at - self.at


def test_timing_rewrites_the_input_buffer_so_a_remembered_answer_goes_stale(monkeypatch):
    monkeypatch.setattr(kernel_timing, "FLUSH_BYTES", 1024)
    monkeypatch.setattr(torch.cuda, "Event", _EventClock)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    remembered: dict[int, torch.Tensor] = {}

    def kernel(x: torch.Tensor) -> torch.Tensor:
        _EventClock.now += 0.25
        return remembered.setdefault(x.data_ptr(), x * 2)

    inputs = [torch.full((2, 3), 1.0), torch.full((2, 3), 5.0)]
    times, last = kernel_timing.time_kernel(kernel, inputs, warmup=2, repeats=20, budget_ms=1000.0)
    assert len(times) == 20 and times == pytest.approx([0.25] * 20)
    assert torch.equal(last[0], torch.full((2, 3), 2.0))
    assert not torch.equal(last[1], inputs[1] * 2)  # the buffer's first answer, replayed: caught by the scorer


def test_the_sandbox_runs_the_kernel_in_the_candidates_view_and_reports_what_it_cannot_measure():
    from evolve.evaluators.pool import evaluate_file

    result = evaluate_file(load_problem(ROOT), ROOT / "seed.py")
    assert result.metrics["quick_cases_correct"] == 5
    if kb.backend() == "cuda":
        assert result.status == "ok" and result.score > 0
    else:
        assert result.status == "unavailable" and result.score is None

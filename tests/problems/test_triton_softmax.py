from pathlib import Path

import pytest

REASON = "kernel problems need the [gpu] extra: pip install torch==2.13.0 && pip install -e .[gpu]"
torch = pytest.importorskip("torch", reason=REASON)
kb = pytest.importorskip("evaluators.kernel_bench", reason=REASON)  # before Triton
pytest.importorskip("triton", reason=REASON)

from evaluators.contract import InvalidProgram, StageUnavailable  # noqa: E402
from evaluators.problem import load_problem  # noqa: E402
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "triton_softmax"
SEED = (ROOT / "seed.py").read_text()



evaluator = load_problem_file("triton_softmax")


def _variant(tmp_path: Path, old: str, new: str) -> str:
    """The seed with one line changed: the smallest realistic wrong kernel."""
    assert old in SEED
    path = tmp_path / "candidate.py"
    path.write_text(SEED.replace(old, new))
    return str(path)


def test_problem_yaml_loads_with_one_gpu_and_a_cascade_on_correctness():
    problem = load_problem(ROOT)
    assert problem.name == "triton_softmax"
    assert problem.limits.gpus == 1
    assert problem.cascade_threshold == 1.0
    assert {f["name"] for f in problem.features} == {"complexity", "worst_speedup"}
    assert "softmax(x: torch.Tensor) -> torch.Tensor" in problem.description


@pytest.mark.parametrize("program", ["seed.py", "baselines/online_softmax.py"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_seed_and_baseline_are_correct_on_every_case(program, split):
    result = evaluator.evaluate_quick(str(ROOT / program), split)
    assert result["score"] == 1.0
    assert result["cases_correct"] == result["cases"] == 5
    lines = result["artifacts"]["correctness"].splitlines()
    assert len(lines) == 5 and all(": ok" in line for line in lines)


def test_train_and_test_splits_use_different_shapes():
    train = evaluator.evaluate_quick(str(ROOT / "seed.py"), "train")["artifacts"]["correctness"]
    test = evaluator.evaluate_quick(str(ROOT / "seed.py"), "test")["artifacts"]["correctness"]
    names = [{line.split(":")[0] for line in text.splitlines()} for text in (train, test)]
    assert names[0].isdisjoint(names[1])
    for backend in ("cuda", "interpreter"):
        assert set(evaluator.CASES[(backend, "train")]).isdisjoint(evaluator.CASES[(backend, "test")])
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        evaluator.evaluate_quick(str(ROOT / "seed.py"), "dev")


def test_full_evaluation_needs_a_gpu_for_timing():
    if kb.backend() == "cuda":
        result = evaluator.evaluate(str(ROOT / "seed.py"))
        assert result["score"] > 0 and result["speedup_vs_seed"] == pytest.approx(1.0, rel=0.2)
        return
    with pytest.raises(StageUnavailable, match="needs a CUDA GPU.*5 cases correct on interpreter"):
        evaluator.evaluate(str(ROOT / "seed.py"))


def test_kernel_without_max_subtraction_fails_on_large_logits(tmp_path):
    program = _variant(tmp_path, "    x = x - tl.max(x, axis=0)\n", "")
    result = evaluator.evaluate_quick(program)
    assert result["score"] == 0.0
    text = result["artifacts"]["correctness"]
    first = text.splitlines()[0]
    assert "MISMATCH" in first and "got nan" in first and "worst at [1, " in first
    assert result["cases_correct"] == 0  # every case has a shifted row


def test_wrong_reduction_fails_with_the_mismatch_in_artifacts(tmp_path):
    program = _variant(tmp_path, "tl.sum(numerator, axis=0)", "tl.max(numerator, axis=0)")
    result = evaluator.evaluate(program)  # a wrong kernel scores 0 before timing is needed
    assert result["score"] == 0.0
    first = result["artifacts"]["correctness"].splitlines()[0]
    assert "MISMATCH" in first and "elements off" in first and "expected" in first


def test_full_evaluation_of_a_wrong_kernel_scores_zero_without_a_gpu(tmp_path):
    program = _variant(tmp_path, "y = numerator / denominator", "y = numerator / (denominator + 1.0)")
    result = evaluator.evaluate(program)
    assert result["score"] == 0.0 and result["cases_correct"] < result["cases"]


@pytest.mark.parametrize(("old", "new", "reason"), [
    ("    out = torch.empty_like(x)\n    softmax_kernel",
     "    return torch.softmax(x, dim=-1)\n    out = torch.empty_like(x)\n    softmax_kernel",
     "aten._softmax"),
    ("    return out\n", "    return out[:, 1:]\n", "output shape"),
    ("    return out\n", "    return out.float()\n", r"aten._to_copy|output dtype"),
    ("def softmax(x", "def soft_max(x", "must define softmax"),
])
def test_reward_hacks_are_rejected_with_a_reason(tmp_path, old, new, reason):
    with pytest.raises(InvalidProgram, match=reason):
        evaluator.evaluate_quick(_variant(tmp_path, old, new))


@pytest.fixture
def fake_gpu_timing(monkeypatch):
    """Run the timing stage on the interpreter: each timed function runs once, and the
    reference, seed and candidate of every case take 2, 4 and 1 ms."""
    durations = iter([2.0, 4.0, 1.0] * 100)

    def time_cuda(fn):
        fn()
        return kb.Timing(median_ms=next(durations), min_ms=0.5, repeats=1)

    monkeypatch.setattr(kb, "require_cuda", lambda what: None)
    monkeypatch.setattr(kb, "time_cuda", time_cuda)


def test_timing_stage_scores_the_geometric_mean_speedup(fake_gpu_timing):
    result = evaluator.evaluate(str(ROOT / "seed.py"))
    assert result["score"] == pytest.approx(2.0)
    assert result["speedup_vs_seed"] == pytest.approx(4.0)
    assert result["cases_correct"] == 5
    timing = result["artifacts"]["timing"].splitlines()
    assert len(timing) == 5 and timing[0].startswith("float32[3x128]: candidate 1.0000 ms")


def test_a_kernel_that_replays_its_last_output_is_caught_after_timing(tmp_path, fake_gpu_timing):
    program = _variant(tmp_path, "def softmax(x: torch.Tensor) -> torch.Tensor:\n", (
        "_replay = {}\n\n\n"
        "def softmax(x: torch.Tensor) -> torch.Tensor:\n"
        "    if id(x) in _replay:\n"
        "        return _replay[id(x)][1]\n"
        "    _replay[id(x)] = (x, _softmax(x))\n"
        "    return _replay[id(x)][1]\n\n\n"
        "def _softmax(x: torch.Tensor) -> torch.Tensor:\n"))
    assert evaluator.evaluate_quick(program)["score"] == 1.0  # fresh inputs: looks correct
    with pytest.raises(InvalidProgram, match="stale or wrong"):
        evaluator.evaluate(program)

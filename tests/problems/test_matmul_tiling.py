import sys
import textwrap
from pathlib import Path

import pytest

REASON = "kernel problems need the [gpu] extra: pip install torch==2.13.0 && pip install -e .[gpu]"
torch = pytest.importorskip("torch", reason=REASON)
kb = pytest.importorskip("evolve.evaluators.kernel_bench", reason=REASON)  # before Triton
pytest.importorskip("triton", reason=REASON)

from evolve.evaluators.channel import open_candidate  # noqa: E402
from evolve.evaluators.contract import CandidateFailed, InvalidProgram, StageUnavailable  # noqa: E402
from evolve.evaluators.problem import load_problem  # noqa: E402
from tests.support.problem_files import load_problem_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[2] / "problems" / "matmul_tiling"



evaluator = load_problem_file("matmul_tiling")
kernel = sys.modules["matmul_kernel"]


def _heuristic(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "candidate.py"
    path.write_text("def choose_config(M, N, K, dtype):\n" + textwrap.indent(textwrap.dedent(body), "    "))
    return path


def _evaluate(path: Path | str, split: str = "train", stage: str = "evaluate_quick") -> dict:
    """One stage with the heuristic in its own process, as in a run (it needs no public module)."""
    with open_candidate(path) as candidate:
        return getattr(evaluator, stage)(candidate, split)


def test_problem_yaml_asks_the_heuristic_over_the_channel_with_one_gpu():
    problem = load_problem(ROOT)
    assert problem.name == "matmul_tiling"
    assert problem.scoring == "channel"
    assert problem.candidate.public == [] and problem.candidate.packages == []  # plain Python
    assert problem.limits.gpus == 1
    assert problem.cascade_threshold == 1.0
    assert {f["name"] for f in problem.features} == {"complexity", "distinct_configs"}
    assert "choose_config(M: int, N: int, K: int, dtype: str)" in problem.description


@pytest.mark.parametrize(("program", "distinct"), [("seed.py", 1), ("baselines/shape_heuristic.py", 2)])
@pytest.mark.parametrize("split", ["train", "test"])
def test_seed_and_baseline_tilings_compute_the_right_product(program, distinct, split):
    result = _evaluate(ROOT / program, split)
    assert result["score"] == 1.0
    assert result["cases_correct"] == result["cases"] == 5
    assert result["distinct_configs"] == distinct
    lines = result["artifacts"]["correctness"].splitlines()
    assert all(": ok" in line and "BLOCK_M=" in line for line in lines)


def test_train_and_test_splits_use_different_shapes():
    for backend in ("cuda", "interpreter"):
        train, test = (set(evaluator.CASES[(backend, s)]) for s in ("train", "test"))
        assert train.isdisjoint(test) and len(train) == len(test)
    quick = [_evaluate(ROOT / "seed.py", s)["artifacts"]["correctness"] for s in ("train", "test")]
    assert quick[0] != quick[1]


def test_full_evaluation_needs_a_gpu_for_timing():
    if kb.backend() == "cuda":
        result = _evaluate(ROOT / "seed.py", stage="evaluate")
        assert result["score"] > 0 and result["speedup_vs_seed"] == pytest.approx(1.0, rel=0.2)
        return
    with pytest.raises(StageUnavailable, match="needs a CUDA GPU.*5 cases correct on interpreter"):
        _evaluate(ROOT / "seed.py", stage="evaluate")


def test_every_shape_gets_its_own_question(tmp_path):
    program = _heuristic(tmp_path, """
        if M < 40:
            return 16, 64, 32, 1, 2, 2
        return 32, 32, 16, 4, 4, 2
    """)
    result = _evaluate(program)
    assert result["score"] == 1.0 and result["distinct_configs"] == 2
    lines = result["artifacts"]["correctness"].splitlines()
    assert any("M=33 " in line and "BLOCK_M=16 BLOCK_N=64" in line for line in lines)
    assert any("M=64 " in line and "BLOCK_M=32 BLOCK_N=32" in line for line in lines)


@pytest.mark.parametrize(("answer", "reason"), [
    ("(64, 64, 32, 8, 4)", "expected a tuple of 6 ints"),
    ("'64x64'", "expected a tuple of 6 ints"),
    ("(64.0, 64, 32, 8, 4, 3)", "must be a Python int"),
    ("(True, 64, 32, 8, 4, 3)", "must be a Python int"),
    ("(48, 64, 32, 8, 4, 3)", "BLOCK_M must be one of"),
    ("(64, 512, 32, 8, 4, 3)", "BLOCK_N must be one of"),
    ("(64, 64, 256, 8, 4, 3)", "BLOCK_K must be one of"),
    ("(64, 64, 32, 0, 4, 3)", "GROUP_M must be one of"),
    ("(64, 64, 32, 8, 3, 3)", "num_warps must be one of"),
    ("(64, 64, 32, 8, 4, 0)", "num_stages must be in 1..7"),
    ("(256, 256, 128, 8, 8, 2)", "exceeds the 232448 bytes of shared memory"),
    ("(256, 256, 32, 8, 4, 2)", "512 accumulator values per thread exceeds 256"),
])
def test_illegal_tilings_are_rejected_with_the_rule_they_break(tmp_path, answer, reason):
    with pytest.raises(InvalidProgram, match=reason) as error:
        _evaluate(_heuristic(tmp_path, f"return {answer}\n"))
    assert "choose_config(64, 64, 64, 'float16')" in str(error.value)


def test_an_illegal_answer_on_one_shape_only_is_still_caught(tmp_path):
    program = _heuristic(tmp_path, """
        if dtype == "bfloat16" and K > 100:
            return 64, 64, 32, 8, 4, 99
        return 64, 64, 32, 8, 4, 3
    """)
    with pytest.raises(InvalidProgram, match=r"choose_config\(16, 200, 128, 'bfloat16'\): num_stages"):
        _evaluate(program)


def test_missing_function_is_rejected(tmp_path):
    path = tmp_path / "candidate.py"
    path.write_text("def pick(M, N, K, dtype):\n    return 64, 64, 32, 8, 4, 3\n")
    with pytest.raises(InvalidProgram, match="must define choose_config"):
        _evaluate(path)


def test_a_heuristic_that_raises_fails_with_its_own_traceback(tmp_path):
    with pytest.raises(CandidateFailed, match="ZeroDivisionError"):
        _evaluate(_heuristic(tmp_path, "return 64 // (M - M), 64, 32, 8, 4, 3\n"))


def test_the_kernel_and_its_inputs_stay_in_the_scorers_process(tmp_path):
    """The heuristic sees only (M, N, K, dtype): a rewrite of the kernel in its own process changes nothing."""
    program = tmp_path / "candidate.py"
    program.write_text("import sys\nassert 'matmul_kernel' not in sys.modules\n"
                       + (ROOT / "seed.py").read_text())
    assert _evaluate(program)["score"] == 1.0
    case = evaluator.Case(8, 16, 32, "float16")
    first, second = evaluator.fresh_inputs(case), evaluator.fresh_inputs(case)
    assert not torch.equal(first[0], second[0])  # drawn afresh: no answer to remember


def test_shared_memory_rule_counts_stages_and_element_size():
    config = kernel.TileConfig(128, 256, 64, 8, 8, 3)
    assert config.shared_memory_bytes(torch.float16) == 3 * (128 + 256) * 64 * 2
    assert config.accumulator_per_thread() == 128.0
    assert kernel.validate_config(list(config), "bfloat16", "here") == config


def test_kernel_matches_torch_on_ragged_edges_for_tiles_larger_than_the_matrix():
    a = torch.randn(5, 70, dtype=torch.float16)
    b = torch.randn(70, 3, dtype=torch.float16)
    c = kernel.matmul(a, b, kernel.TileConfig(64, 32, 64, 2, 4, 2))
    torch.testing.assert_close(c.float(), a.float() @ b.float(), atol=2e-2, rtol=1e-2)


def test_timing_stage_compares_with_torch_and_the_seed(monkeypatch):
    durations = iter([3.0, 2.0, 1.0] * 100)  # torch, seed tiling, candidate tiling per case

    def time_cuda(fn):
        fn()
        return kb.Timing(median_ms=next(durations), min_ms=0.5, repeats=1)

    monkeypatch.setattr(kb, "require_cuda", lambda what: None)
    monkeypatch.setattr(kb, "time_cuda", time_cuda)
    result = _evaluate(ROOT / "baselines" / "shape_heuristic.py", stage="evaluate")
    assert result["score"] == pytest.approx(3.0)
    assert result["speedup_vs_seed"] == pytest.approx(2.0)
    assert result["distinct_configs"] == 2
    assert "BLOCK_M=16 BLOCK_N=128" in result["artifacts"]["timing"]


@pytest.mark.slow
def test_the_sandbox_runs_the_heuristic_on_the_channel_and_reports_what_it_cannot_measure():
    from evolve.evaluators.pool import evaluate_file

    result = evaluate_file(load_problem(ROOT), ROOT / "baselines" / "shape_heuristic.py")
    assert result.metrics["quick_cases_correct"] == 5 and result.metrics["quick_distinct_configs"] == 2
    if kb.backend() == "cuda":
        assert result.status == "ok" and result.score > 0
    else:
        assert result.status == "unavailable" and result.score is None

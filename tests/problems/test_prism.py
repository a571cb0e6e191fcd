import os
import sys
import textwrap
from pathlib import Path

import pytest

from evolve.evaluators.candidate_server import copy_public
from evolve.evaluators.channel import open_candidate
from evolve.evaluators.contract import CandidateFailed, InvalidProgram
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "prism"
PROBLEM = load_problem("prism")
LEADERBOARD = os.environ.get("ADRS_LEADERBOARD_DIR")
needs_leaderboard = pytest.mark.skipif(
    not LEADERBOARD, reason="set ADRS_LEADERBOARD_DIR to a checkout of UCB-ADRS/ADRS-Leaderboard (not redistributable)")

evaluator = load_problem_file("prism")
kvpr = sys.modules["kvpr"]


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> Path:
    """The problem's public modules alone, as the candidate's process sees them."""
    folder = tmp_path_factory.mktemp("public")
    copy_public(ROOT, PROBLEM.candidate.public, folder)
    return folder


def score(public: Path, program: str | Path, split: str = "test") -> dict:
    with open_candidate(program, public=[public]) as candidate:
        return evaluator.evaluate(candidate, split)


def _program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "candidate.py"
    path.write_text(textwrap.dedent(body))
    return path


def published(method: str) -> Path:
    return Path(LEADERBOARD) / "solutions" / "prism" / method / "resources" / "solution.py"


def test_round_robin_greedy_and_bound_reproduce_the_published_means(public):
    robin = score(public, ROOT / "baselines" / "round_robin.py")
    greedy = score(public, ROOT / "baselines" / "greedy.py")
    assert round(robin["mean_max_kvpr"], 4) == 0.0618
    assert round(greedy["mean_max_kvpr"], 4) == 0.0479
    assert round(greedy["bound_kvpr"], 4) == 0.0352
    assert robin["mean_max_kvpr"] == pytest.approx(0.06183800512015553, abs=1e-15)
    assert greedy["mean_max_kvpr"] == pytest.approx(0.0478660773665175, abs=1e-15)
    assert robin["leaderboard_score"] == 0.0
    assert round(greedy["leaderboard_score"], 4) == 60.8174  # the leaderboard's human_SOTA (= its initial program)


def test_the_seed_is_the_greedy_baseline_and_train_differs_from_test(public):
    train = score(public, ROOT / "seed.py", "train")
    test = score(public, ROOT / "seed.py", "test")
    assert test["mean_max_kvpr"] == pytest.approx(0.0478660773665175, abs=1e-15)
    assert train["mean_max_kvpr"] != test["mean_max_kvpr"]
    train_cases, test_cases = evaluator.split_cases("train"), evaluator.split_cases("test")
    assert len(train_cases) == len(test_cases) == 50
    assert set(train_cases).isdisjoint(test_cases)


def test_cases_follow_the_leaderboard_draws():
    cases = kvpr.generate_cases(42)
    assert cases[0].gpu_num == 8  # numpy seed 42: randint(5, 10) first gives 8
    for case in cases:
        assert 5 <= case.gpu_num <= 9 and len(case.sizes) == 2 * case.gpu_num
        assert all(10 <= s <= 29 for s in case.sizes) and all(1 <= r <= 9 for r in case.rates)
        assert all(5 <= o <= 9 for o in case.slos)
    assert {case.gpu_num for case in cases} == {5, 6, 7, 8, 9}


def test_pressure_and_the_leaderboard_scale_on_hand_cases():
    case = kvpr.Case(2, (30, 50, 20), (6, 4, 9), (6, 8, 9))
    assert kvpr.gpu_pressure(case, [0, 2]) == pytest.approx((1.0 + 1.0) / 30)
    assert kvpr.gpu_pressure(case, [0, 1]) == kvpr.FULL_GPU_KVPR  # 80 GB used: no KV cache left
    assert kvpr.gpu_pressure(case, []) == 0.0
    assert kvpr.balanced_bound(case) == pytest.approx(2.5 / 60)
    assert kvpr.leaderboard_case_score(0.75, 1.0, 0.0) == pytest.approx(50.0)
    assert kvpr.leaderboard_case_score(0.5, 1.0, 0.0) == pytest.approx(70.7107, abs=1e-4)
    assert kvpr.leaderboard_case_score(1.2, 1.0, 0.0) == 0.0
    assert kvpr.leaderboard_case_score(-1.0, 1.0, 0.0) == 100.0


def test_the_sandbox_gives_the_same_number():
    result = evaluate_file(PROBLEM, ROOT / "baselines" / "greedy.py", "test")
    assert result.status == "ok", result.artifacts
    assert result.metrics["mean_max_kvpr"] == pytest.approx(0.0478660773665175, abs=1e-15)


@pytest.mark.parametrize("body, reason", [
    ("def compute_model_placement(gpu_num, models):\n    return [models]\n", "must return a dict"),
    ("def compute_model_placement(gpu_num, models):\n    return {0: tuple(models)}\n", "must be a list"),
    ("def compute_model_placement(gpu_num, models):\n    return {g: [m] for g, m in enumerate(models)}\n",
     "GPU ids must be distinct integers"),
    ("def compute_model_placement(gpu_num, models):\n    return {'0': models}\n", "GPU ids must be distinct integers"),
    ("def compute_model_placement(gpu_num, models):\n    return {0: models[1:]}\n", "exactly once"),
    ("def compute_model_placement(gpu_num, models):\n    return {0: models[:2], 1: models[:1] + models[2:]}\n",
     "exactly once"),
    ("import copy\ndef compute_model_placement(gpu_num, models):\n"
     "    return {g: [copy.copy(m) for m in models[g::gpu_num]] for g in range(gpu_num)}\n", "not one of the given"),
    ("def compute_model_placement(gpu_num, models):\n    return {0: models}\n", "over its 80 GB"),
])
def test_malformed_placements_are_rejected(public, tmp_path, body, reason):
    with pytest.raises(InvalidProgram, match=reason):
        score(public, _program(tmp_path, body))


def test_models_edited_by_the_program_are_priced_as_given(public, tmp_path):
    shrink = _program(tmp_path, """
        def compute_model_placement(gpu_num, models):
            for m in models:
                m.model_size, m.req_rate = 0, 0
            return {0: models}
    """)
    with pytest.raises(InvalidProgram, match="over its 80 GB"):
        score(public, shrink)
    silence = _program(tmp_path, """
        def compute_model_placement(gpu_num, models):
            placement = {g: [] for g in range(gpu_num)}
            for j, m in enumerate(models):
                m.req_rate = 0
                placement[j % gpu_num].append(m)
            return placement
    """)
    robin = score(public, ROOT / "baselines" / "round_robin.py")
    assert score(public, silence)["mean_max_kvpr"] == robin["mean_max_kvpr"]


def test_an_exception_fails_the_program_instead_of_skipping_the_case(public, tmp_path):
    body = """
        def compute_model_placement(gpu_num, models):
            if gpu_num == 9:
                raise RuntimeError("too many GPUs")
            return {g: models[g::gpu_num] for g in range(gpu_num)}
    """
    with pytest.raises(CandidateFailed, match="too many GPUs"):
        score(public, _program(tmp_path, body))


def test_the_split_budget_is_measured_here(public, tmp_path):
    slow = _program(tmp_path, """
        import time
        def compute_model_placement(gpu_num, models):
            time.sleep(0.4)
            return {g: models[g::gpu_num] for g in range(gpu_num)}
    """)
    with open_candidate(slow, public=[public]) as candidate:
        with pytest.raises(evaluator.PlacementTimeout, match="used up the split's 1 s by case 2"):
            evaluator.run_cases(candidate, evaluator.split_cases("train"), 1.0)


@pytest.mark.slow
def test_a_case_over_ten_seconds_is_rejected(public, tmp_path):
    slow = _program(tmp_path, """
        import time
        def compute_model_placement(gpu_num, models):
            time.sleep(30)
    """)
    with pytest.raises(evaluator.PlacementTimeout, match="case 0 .* took over 10 s"):
        score(public, slow, "train")


def test_random_is_seeded_before_each_call(public, tmp_path):
    shuffled = _program(tmp_path, """
        import random
        def compute_model_placement(gpu_num, models):
            order = list(models)
            random.shuffle(order)
            return {g: order[g::gpu_num] for g in range(gpu_num)}
    """)
    first = score(public, shuffled)  # two models per GPU: at most 58 GB, always feasible
    assert first["mean_max_kvpr"] != first["round_robin_kvpr"]
    assert score(public, shuffled)["mean_max_kvpr"] == first["mean_max_kvpr"]


@needs_leaderboard
@pytest.mark.parametrize("method, official", [("openevolve", 87.3876), ("gepa", 87.3670), ("shinkaevolve", 87.4096)])
def test_published_solutions_reproduce_their_leaderboard_scores(public, method, official):
    result = score(public, published(method))
    assert round(result["leaderboard_score"], 4) == official


@needs_leaderboard
def test_a_published_solution_scores_the_same_in_the_sandbox():
    result = evaluate_file(PROBLEM, published("openevolve"), "test")
    assert result.status == "ok", result.artifacts
    assert round(result.metrics["leaderboard_score"], 4) == 87.3876


@needs_leaderboard
@pytest.mark.slow
def test_levi_searches_for_its_time_budget_and_reaches_its_published_score(public):
    result = score(public, published("LEVI"))  # 1.5 s of local search per case, unseeded in the original
    assert result["leaderboard_score"] == pytest.approx(87.4096, abs=0.01)
    assert result["wall_s"] > 50 * 1.5

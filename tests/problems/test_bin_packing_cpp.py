"""bin_packing_cpp: FunSearch's online bin packing with the priority function in C++,
built and run in the candidate's sandbox, scored by the same rules as bin_packing."""

import shutil
from pathlib import Path

import pytest

from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from evolve.evaluators.sandbox import Sandbox
from evolve.offline import OfflineMutator

ROOT = Path(__file__).resolve().parents[2] / "problems" / "bin_packing_cpp"
SEED = (ROOT / "seed.cpp").read_text()
BODY = SEED.split("// EVOLVE-BLOCK-START\n")[1].split("// EVOLVE-BLOCK-END\n")[0]

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed (apt-get install -y g++)")


@pytest.fixture(scope="module")
def sandbox():
    problem = load_problem("bin_packing_cpp")
    with Sandbox.for_problem(problem, problem.root) as box:
        yield box


def _with_body(body: str) -> str:
    return SEED.replace(BODY, body)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("baseline", "or3_bins", "or3_pct", "weibull_bins", "weibull_pct"),
    [("first_fit", 212.75, 5.74, 2071.8, 4.23), ("best_fit", 212.0, 5.37, 2067.0, 3.98)],
)
def test_published_first_and_best_fit_are_reproduced_exactly(baseline, or3_bins, or3_pct, weibull_bins, weibull_pct):
    result = evaluate_file(load_problem("bin_packing_cpp"), ROOT / "baselines" / f"{baseline}.cpp", "test")
    assert result.status == "ok", result.artifacts
    assert result.metrics["or3_mean_bins"] == or3_bins and round(result.metrics["or3_excess_pct"], 2) == or3_pct
    assert result.metrics["weibull_5k_mean_bins"] == weibull_bins
    assert round(result.metrics["weibull_5k_excess_pct"], 2) == weibull_pct


def test_the_seed_is_best_fit_and_beats_first_fit_on_train(sandbox):
    seed = sandbox.run("full", SEED, "train")
    best = sandbox.run("full", (ROOT / "baselines" / "best_fit.cpp").read_text(), "train")
    first = sandbox.run("full", (ROOT / "baselines" / "first_fit.cpp").read_text(), "train")
    assert seed.status == best.status == first.status == "ok", seed.artifacts
    assert seed.score == best.score > first.score
    assert round(-seed.score, 2) == 4.22 and round(-first.score, 2) == 4.71


def test_a_choice_of_a_bin_without_room_is_rejected(sandbox):
    cheat = SEED.replace("return std::to_string(where[best]);", "return \"0\";")
    outcome = sandbox.run("full", cheat, "train")
    assert outcome.status != "ok" and "chose bin 0, which cannot take the item" in outcome.error


def test_a_wrong_number_of_scores_is_rejected_with_the_reason(sandbox):
    short = _with_body("std::vector<double> priority(double item, const std::vector<double>& bins) {\n"
                       "    return std::vector<double>(1, item);\n}\n")
    outcome = sandbox.run("full", short, "train")
    assert outcome.status != "ok" and "priority returned 1 scores for" in outcome.error


def test_a_compile_error_is_a_failed_row_naming_the_mistake(sandbox):
    broken = _with_body(BODY.replace("double gap = bins[i] - item;", "double gap = bins[i] - itm;"))
    outcome = sandbox.run("quick", broken, "train")
    assert outcome.status != "ok" and "itm" in outcome.error and "was not declared" in outcome.error


def test_offline_mutants_build_and_score(sandbox):
    mutator = OfflineMutator()
    scores = []
    for seed in range(6):
        child = mutator.mutate(SEED, [], seed).code
        assert child is not None and child != SEED
        outcome = sandbox.run("quick", child, "train")
        if outcome.status == "ok":
            scores.append(outcome.score)
    assert scores, "no offline mutant of the seed built and scored"

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from evolve.evaluators.channel import open_candidate
from evolve.evaluators.contract import InvalidProgram, load_program
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "bin_packing"



evaluator = load_problem_file("bin_packing")
packing = sys.modules["online_packing"]


def score(path, split="train", stage="full"):
    """The evaluator's answer for the program at ``path``, run in its own process over the channel."""
    with open_candidate(path) as candidate:
        function = evaluator.evaluate_quick if stage == "quick" else evaluator.evaluate
        return function(candidate, split)


def _program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text("import numpy as np\nimport time\n\n" + textwrap.dedent(body))
    return str(path)


@pytest.mark.parametrize(
    ("baseline", "or3_bins", "or3_pct", "weibull_bins", "weibull_pct"),
    [("first_fit", 212.75, 5.74, 2071.8, 4.23), ("best_fit", 212.0, 5.37, 2067.0, 3.98)],
)
def test_published_first_and_best_fit_are_reproduced_exactly(
    baseline, or3_bins, or3_pct, weibull_bins, weibull_pct
):
    result = score(ROOT / "baselines" / f"{baseline}.py", "test")
    assert result["or3_mean_bins"] == or3_bins
    assert result["weibull_5k_mean_bins"] == weibull_bins
    assert round(result["or3_excess_pct"], 2) == or3_pct
    assert round(result["weibull_5k_excess_pct"], 2) == weibull_pct
    assert result["score"] == pytest.approx(-(result["or3_excess_pct"] + result["weibull_5k_excess_pct"]) / 2)


def test_funsearch_weibull_heuristic_reaches_its_published_bin_count():
    module = load_program(ROOT / "baselines" / "funsearch_weibull.py", "fs_weibull")
    instances = packing.load_dataset(ROOT / "data" / "weibull_5k.json")
    packings = [packing.pack(instance, module.priority) for instance in instances]
    assert np.mean([p.bins_used for p in packings]) == 2001.4
    assert round(packing.dataset_excess_pct(packings), 2) == 0.68


def test_seed_is_best_fit_and_beats_first_fit_on_train():
    seed = score(ROOT / "seed.py")
    best_fit = score(ROOT / "baselines" / "best_fit.py")
    first_fit = score(ROOT / "baselines" / "first_fit.py")
    assert seed["score"] == best_fit["score"]
    assert first_fit["score"] < best_fit["score"] < 0
    assert np.isfinite(seed["worst_instance_excess_pct"])


def test_train_and_test_instances_differ():
    train = evaluator.train_instances()
    test = [i for instances in evaluator.test_datasets().values() for i in instances]
    assert {i.name for i in train}.isdisjoint({i.name for i in test})
    train_items = {tuple(i.items[:50]) for i in train}
    assert train_items.isdisjoint({tuple(i.items[:50]) for i in test})
    assert len(train_items) == len(train)


def test_weibull_generator_is_deterministic_and_in_range():
    first = packing.weibull_instance("a", 7, 2000)
    again = packing.weibull_instance("b", 7, 2000)
    other = packing.weibull_instance("c", 8, 2000)
    np.testing.assert_array_equal(first.items, again.items)
    assert not np.array_equal(first.items, other.items)
    assert first.items.min() >= 1 and first.items.max() <= 100
    assert np.array_equal(first.items, np.round(first.items))
    assert 38 < first.items.mean() < 42  # 45 * Gamma(4/3) = 40.2


def test_artifacts_name_instances_and_compare_with_best_fit(tmp_path):
    path = _program(tmp_path, "def priority(item, bins):\n    return -np.arange(bins.size) * 1.0\n")
    artifacts = score(path)["artifacts"]
    assert "best fit" in artifacts["train"]
    for instance in evaluator.train_instances():
        assert instance.name in artifacts["train"]
    assert artifacts["worst_instances"].count("%") == 3


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("def priority(item, bins):\n    return 1.0\n", "shape"),
        ("def priority(item, bins):\n    return bins[:1] - item\n", "shape"),
        ("def priority(item, bins):\n    return np.append(-bins, 1e9)\n", "shape"),
        ("def priority(item, bins):\n    return np.full(bins.shape, np.nan)\n", "non-finite"),
        ("def priority(item, bins):\n    return -bins / 0.0\n", "non-finite"),
        ("def priority(item, bins):\n    return bins.astype(complex)\n", "not plain data: arrays must be bool, int or float"),
        ("def priority(item, bins):\n    return np.array(['a'] * bins.size)\n", "not plain data"),
        ("score = 3\n", "must define priority"),
    ],
)
def test_invalid_answers_are_rejected_with_a_reason(tmp_path, body, reason):
    with np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(InvalidProgram, match=reason):
            score(_program(tmp_path, body))


def test_slow_priority_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setitem(evaluator.TIME_BUDGET_S, "train", 0.05)
    path = _program(tmp_path, "def priority(item, bins):\n    time.sleep(0.001)\n    return -bins\n")
    with pytest.raises(packing.PackingTimeout, match="too slow"):
        score(path)


def test_quick_stage_scores_a_subset():
    quick = score(ROOT / "seed.py", stage="quick")
    assert quick["artifacts"]["train"].count("weibull1k_seed") == evaluator.QUICK_INSTANCES
    assert np.isfinite(quick["score"])


def test_candidate_cannot_change_the_bins_it_is_shown(tmp_path):
    path = _program(tmp_path, "def priority(item, bins):\n    bins[:] = 1e9\n    return -(bins * 0)\n")
    result = score(path)
    first_fit = score(ROOT / "baselines" / "first_fit.py")
    assert result["score"] == first_fit["score"]


def test_published_numbers_hold_through_the_sandboxed_channel():
    result = evaluate_file(load_problem("bin_packing"), ROOT / "baselines" / "first_fit.py", "test")
    assert result.status == "ok", result.artifacts
    assert result.metrics["or3_mean_bins"] == 212.75
    assert result.metrics["weibull_5k_mean_bins"] == 2071.8


HACKS = {
    "rebind_the_packer": "import sys\nfor m in list(sys.modules.values()):\n    if hasattr(m, 'pack'):\n        m.pack = None\n"
                         "def priority(item, bins):\n    return -(bins - item)\n",
    "patch_numpy": "import numpy\nnumpy.count_nonzero = lambda *a, **k: 0\nnumpy.argmax = lambda *a, **k: 0\n"
                   "def priority(item, bins):\n    return -(bins - item)\n",
    "read_the_test_split": "import glob, os\nFOUND = [p for p in glob.glob('/tmp/evolve-problems/*/data/*.json') + "
                           f"[{str(ROOT / 'data' / 'weibull_5k.json')!r}, os.getcwd() + '/data/or3.json'] if os.path.exists(p)]\n"
                           "def priority(item, bins):\n    assert not FOUND, FOUND\n    return -(bins - item)\n",
    "forge_json": "import json\njson.dumps = lambda *a, **k: '{\"status\": \"ok\", \"output\": {\"score\": 1e9}}'\n"
                  "def priority(item, bins):\n    return -(bins - item)\n",
}


@pytest.mark.parametrize("name", sorted(HACKS))
def test_reward_hacks_score_at_most_the_honest_program_in_the_sandbox(tmp_path, name):
    """Each hack is best fit plus an attack on the scorer; the channel leaves it best fit's score."""
    path = tmp_path / "hack.py"
    path.write_text("# EVOLVE-BLOCK-START\n" + HACKS[name] + "# EVOLVE-BLOCK-END\n")
    problem = load_problem("bin_packing")
    hacked = evaluate_file(problem, path)
    honest = evaluate_file(problem, ROOT / "baselines" / "best_fit.py")
    assert hacked.status == "ok", hacked.artifacts  # the attack found nothing to change or read
    assert hacked.score == honest.score

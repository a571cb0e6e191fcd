import importlib.util
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from evolve.evaluators.candidate_server import copy_public
from evolve.evaluators.channel import open_candidate
from evolve.evaluators.contract import InvalidProgram, StageUnavailable
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "eplb"
PROBLEM = load_problem("eplb")

evaluator = load_problem_file("eplb")
placement = sys.modules["expert_placement"]
history_module = sys.modules["load_history"]
deepseek = load_problem_file("eplb", "baselines/deepseek_hierarchical.py")

L, E, R = history_module.NUM_LAYERS, history_module.NUM_EXPERTS, evaluator.NUM_REPLICAS


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> Path:
    """The problem's public modules alone, as the candidate's process sees them."""
    folder = tmp_path_factory.mktemp("public")
    copy_public(ROOT, PROBLEM.candidate.public, folder)
    return folder


def score(public: Path, program: str | Path, split: str = "train") -> dict:
    with open_candidate(program, public=[public]) as candidate:
        return evaluator.evaluate(candidate, split)


@pytest.fixture(scope="module")
def window():
    return evaluator.split_history("train")[0]


@pytest.fixture(scope="module")
def answer(window):
    return deepseek.rebalance_experts(window, R, 8, 4, 32)


def _program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text("import numpy as np\nimport time\n\n" + textwrap.dedent(body))
    return str(path)


def test_hierarchical_policy_is_valid_and_keeps_groups_on_one_node(window, answer):
    result = placement.validated_placement(answer, L, E, R)
    assert (result.logcnt >= 1).all()
    node_of_slot = np.arange(R) // (R // 4)
    for layer in (0, 17, L - 1):
        expert_group = result.phy2log[layer] // 32
        for group in range(8):
            assert len(set(node_of_slot[expert_group == group])) == 1
        assert (np.bincount(result.phy2log[layer] // 32, minlength=8) > 0).all()


def test_hierarchical_policy_replicates_the_hottest_experts(window, answer):
    logcnt = answer[2]
    hottest = window.argmax(axis=1)
    coldest = window.argmin(axis=1)
    rows = np.arange(L)
    assert (logcnt[rows, hottest] >= 2).mean() > 0.9
    assert (logcnt[rows, coldest] == 1).all()


def test_seed_matches_the_deepseek_baseline_and_beats_no_packing(public):
    seed = score(public, ROOT / "seed.py")
    hierarchical = score(public, ROOT / "baselines" / "deepseek_hierarchical.py")
    flat = score(public, ROOT / "baselines" / "replicate_only.py")
    assert seed["balancedness_gpu"] == hierarchical["balancedness_gpu"]
    assert 0.70 < hierarchical["balancedness_gpu"] < 0.85
    assert flat["balancedness_gpu"] < hierarchical["balancedness_gpu"] - 0.1
    assert hierarchical["balancedness_gpu"] < 1.0 and hierarchical["balancedness_slot"] < 1.0


def test_gpu_loads_split_expert_load_over_replicas():
    phy2log = np.array([[0, 0, 1, 2]])
    logcnt = np.array([[2, 1, 1]])
    log2phy = np.array([[[0, 1], [2, -1], [3, -1]]])
    result = placement.validated_placement((phy2log, log2phy, logcnt), 1, 3, 4)
    loads = placement.gpu_loads(result, np.array([[10.0, 4.0, 2.0]]), num_gpus=2)
    np.testing.assert_allclose(loads, [[10.0, 6.0]])
    assert placement.balancedness(loads) == pytest.approx(8.0 / 10.0)
    assert placement.balancedness(np.array([[1.0, 3.0], [2.0, 2.0]])) == pytest.approx(4.0 / 5.0)


def test_published_score_formula():
    fast = evaluator.published_score(0.8, 0.001)
    assert fast == {"score": pytest.approx(82.0), "speed_score": 10.0, "slow_penalty": 0.0}
    slow = evaluator.published_score(0.8, 0.02)
    assert slow["speed_score"] == pytest.approx(0.5)
    assert slow["slow_penalty"] == pytest.approx(0.4)
    assert slow["score"] == pytest.approx(72.0 + 0.5 - 0.4)


def _tampered(answer, how):
    phy2log, log2phy, logcnt = (a.copy() for a in answer)
    if how == "float":
        return phy2log.astype(float), log2phy, logcnt
    if how == "short":
        return phy2log[:, :-1], log2phy, logcnt
    if how == "count":
        logcnt[0, 0] += 1
    if how == "pointer":
        log2phy[0, 0, 0] = log2phy[0, 1, 0]
    if how == "swap":
        a, b = log2phy[0, 0, 0], log2phy[0, 1, 0]
        phy2log[0, a], phy2log[0, b] = phy2log[0, b], phy2log[0, a]
    if how == "padding":
        log2phy[0, 0, -1] = 5
    if how == "range":
        phy2log[3, 7] = E
    return phy2log, log2phy, logcnt


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("float", "integers"),
        ("short", "phy2log shape"),
        ("count", "logcnt disagrees"),
        ("pointer", "disagree|exactly once"),
        ("swap", "disagree"),
        ("padding", "-1"),
        ("range", "outside"),
    ],
)
def test_inconsistent_placements_are_rejected(answer, how, reason):
    with pytest.raises(InvalidProgram, match=reason):
        placement.validated_placement(_tampered(answer, how), L, E, R)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("program", "train", "test"),
    [("deepseek_hierarchical.py", 0.756, 0.762), ("replicate_only.py", 0.570, 0.575)],
)
def test_readme_balancedness_is_reproduced(public, program, train, test):
    assert round(score(public, ROOT / "baselines" / program, "train")["balancedness_gpu"], 3) == train
    assert round(score(public, ROOT / "baselines" / program, "test")["balancedness_gpu"], 3) == test


def test_dropping_a_loaded_expert_is_rejected(public, tmp_path):
    body = """
    def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
        layers, experts = weight.shape
        row = np.concatenate([np.arange(1, experts), np.arange(1, num_replicas - experts + 2)])
        phy2log = np.repeat(row[None, :], layers, 0)
        logcnt = np.stack([np.bincount(r, minlength=experts) for r in phy2log])
        log2phy = np.full((layers, experts, 2), -1)
        for layer in range(layers):
            for slot, expert in enumerate(phy2log[layer]):
                log2phy[layer, expert, int((log2phy[layer, expert] >= 0).sum())] = slot
        return phy2log, log2phy, logcnt
    """
    with pytest.raises(InvalidProgram, match="no replica"):
        score(public, _program(tmp_path, body))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("def rebalance_experts(w, r, g, n, p):\n    return None\n", "must return"),
        ("def rebalance_experts(w, r, g, n, p):\n    return 1, 2\n", "must return"),
        ("def balance(w):\n    return w\n", "must define rebalance_experts"),
    ],
)
def test_wrong_shaped_programs_are_rejected(public, tmp_path, body, reason):
    with pytest.raises(InvalidProgram, match=reason):
        score(public, _program(tmp_path, body))


def test_slow_policy_is_rejected(public, tmp_path, monkeypatch):
    monkeypatch.setitem(evaluator.TIME_BUDGET_S, "train", 0.05)
    body = "def rebalance_experts(w, r, g, n, p):\n    time.sleep(0.1)\n    return None\n"
    with pytest.raises(InvalidProgram, match="budget"):
        score(public, _program(tmp_path, body))


def test_history_is_deterministic_drifting_and_split():
    train = evaluator.split_history("train")
    test = evaluator.split_history("test")
    assert train.shape == (8, L, E) and test.shape == (24, L, E)
    np.testing.assert_array_equal(train, evaluator.split_history("train"))
    assert not np.array_equal(train[0], test[0])
    assert (train.sum(axis=2) == history_module.TOKENS_PER_WINDOW * history_module.TOP_K).all()
    near = np.corrcoef(test[0].ravel(), test[1].ravel())[0, 1]
    far = np.corrcoef(test[0].ravel(), test[20].ravel())[0, 1]
    assert near > 0.8 and far < near - 0.2
    assert (train[0].max(axis=1) / train[0].mean(axis=1)).min() > 3


def test_artifacts_show_steps_and_worst_layers(public):
    artifacts = score(public, ROOT / "seed.py")["artifacts"]
    assert artifacts["steps"].count("window") == 7
    assert artifacts["worst_layers"].count("layer") == evaluator.WORST_SHOWN
    assert "replica" in artifacts["worst_layers"]


BASELINE = (ROOT / "baselines" / "replicate_only.py").read_text()


def test_the_clock_is_the_scorers_and_the_program_cannot_stop_it(public, tmp_path):
    body = BASELINE + """
import time as _time

_slow = rebalance_experts


def rebalance_experts(*args):
    _time.sleep(0.03)
    _time.perf_counter = _time.time = _time.monotonic = lambda: 0.0
    return _slow(*args)
"""
    result = score(public, _program(tmp_path, body))
    assert result["seconds_per_call"] >= 0.03
    assert result["speed_score"] < 5.0


def test_patching_numpy_and_the_checkers_in_its_own_process_changes_nothing(public, tmp_path):
    honest = score(public, ROOT / "baselines" / "replicate_only.py")
    body = BASELINE + """
import sys

_honest = rebalance_experts


def rebalance_experts(weight, *args):
    np.array_equal = lambda *a, **k: True
    np.add.at = lambda *a, **k: None
    for name in ("expert_placement", "evaluate", "evolve.evaluators.contract"):
        sys.modules.setdefault(name, np).balancedness = lambda loads: 1.0
    phy2log, log2phy, logcnt = _honest(weight, *args)
    return phy2log, log2phy, logcnt
"""
    patched = score(public, _program(tmp_path, body))
    assert patched["balancedness_gpu"] == honest["balancedness_gpu"]
    lying = body.replace("return phy2log, log2phy, logcnt", "return phy2log, log2phy, logcnt * 0 + 9")
    with pytest.raises(InvalidProgram, match="logcnt disagrees"):
        score(public, _program(tmp_path, lying))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("def rebalance_experts(w, r, g, n, p):\n    return {'score': 1e9}\n", "must return"),
        ("def rebalance_experts(w, r, g, n, p):\n    return object(), object(), object()\n", "not plain data"),
        ("def rebalance_experts(w, r, g, n, p):\n    return 'a', 'b', 'c'\n", "dimensions|integers"),
        ("def rebalance_experts(w, r, g, n, p):\n    return [np.full((58, 288), 1e300)] * 3\n", "integers"),
    ],
)
def test_garbage_answers_are_rejected(public, tmp_path, body, reason):
    with pytest.raises(InvalidProgram, match=reason):
        score(public, _program(tmp_path, body))


LEAKS = BASELINE + """
SECRETS = {secrets!r}
_honest = rebalance_experts


def rebalance_experts(*args):
    for path in SECRETS:
        try:
            open(path).read(10)
        except OSError:
            continue
        return None  # reached something it must not: an invalid answer marks it
    for module in ("load_history", "expert_placement", "evaluate", "evaluators"):
        try:
            __import__(module)
        except ImportError:
            continue
        return None
    return _honest(*args)
"""


@pytest.mark.slow
def test_in_the_sandbox_the_program_sees_neither_history_nor_scorer(public, tmp_path):
    program = tmp_path / "leaks.py"
    program.write_text(LEAKS.format(secrets=[str(ROOT / "load_history.py"), str(ROOT / "evaluate.py"), "/etc/shadow"]))
    result = evaluate_file(PROBLEM, program)
    assert result.status == "ok", result.artifacts
    honest = score(public, ROOT / "baselines" / "replicate_only.py")
    assert result.metrics["balancedness_gpu"] == honest["balancedness_gpu"]


LEADERBOARD = os.environ.get("ADRS_LEADERBOARD_DIR")  # a checkout of UCB-ADRS/ADRS-Leaderboard (not redistributable)
needs_leaderboard = pytest.mark.skipif(
    not LEADERBOARD, reason="set ADRS_LEADERBOARD_DIR to a checkout of UCB-ADRS/ADRS-Leaderboard (not redistributable)")
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="the leaderboard split needs torch: pip install torch")

TORCH_REPLICATE_ONLY = '''
import torch


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    assert isinstance(weight, torch.Tensor) and weight.dtype == torch.int64 and weight.device.type == "cpu"
    load = weight.double()
    layers, num_logical = load.shape
    rows = torch.arange(layers)
    logcnt = torch.ones(layers, num_logical, dtype=torch.int64)
    for _ in range(num_replicas - num_logical):
        logcnt[rows, (load / logcnt).argmax(dim=1)] += 1
    phy2log = torch.repeat_interleave(torch.arange(num_logical).expand(layers, -1).reshape(-1),
                                      logcnt.reshape(-1)).reshape(layers, num_replicas)
    width = int(logcnt.max())
    first = torch.cumsum(logcnt, dim=1) - logcnt
    replica = torch.arange(width).view(1, 1, width)
    log2phy = torch.where(replica < logcnt.unsqueeze(2), first.unsqueeze(2) + replica, torch.tensor(-1))
    return phy2log, log2phy, logcnt
'''


@needs_torch
def test_a_torch_program_runs_on_the_leaderboard_split_as_its_numpy_twin_on_test(public, tmp_path):
    program = tmp_path / "torch_replicate_only.py"
    program.write_text(TORCH_REPLICATE_ONLY)
    result = score(public, program, "leaderboard")
    twin = score(public, ROOT / "baselines" / "replicate_only.py", "test")
    assert result["balancedness_gpu"] == twin["balancedness_gpu"]
    assert result["instances"] == twin["instances"]
    assert 0 < result["seconds_per_call"] <= result["round_trip_seconds_per_call"]
    expected = evaluator.published_score(result["balancedness_gpu"], result["seconds_per_call"])
    assert result["score"] == pytest.approx(expected["score"])


@needs_torch
def test_the_leaderboard_split_rejects_a_call_time_longer_than_the_scorer_saw(public, tmp_path):
    program = tmp_path / "slow_clock.py"
    program.write_text(TORCH_REPLICATE_ONLY + '''
import itertools
import leaderboard_reply


class _Clock:
    ticks = itertools.count(step=1000.0)

    @staticmethod
    def perf_counter():
        return next(_Clock.ticks)


leaderboard_reply.time = _Clock
''')
    with pytest.raises(InvalidProgram, match="reported call time 1000.0"):
        score(public, program, "leaderboard")


@needs_torch
def test_the_leaderboard_split_validates_placements_as_the_others_do(public, tmp_path):
    program = tmp_path / "short.py"
    program.write_text(TORCH_REPLICATE_ONLY.replace("return phy2log, log2phy, logcnt",
                                                    "return phy2log[:, :-1], log2phy, logcnt"))
    with pytest.raises(InvalidProgram, match="phy2log shape"):
        score(public, program, "leaderboard")


def test_without_its_package_the_leaderboard_split_names_the_install(public, monkeypatch):
    monkeypatch.setattr(evaluator, "LEADERBOARD_PACKAGES", ["no-such-package-evolve"])
    with pytest.raises(StageUnavailable) as error:
        score(public, ROOT / "seed.py", "leaderboard")
    assert "\n" not in str(error.value) and "pip install no-such-package-evolve" in str(error.value)
    assert PROBLEM.candidate.on_demand_packages == ["torch"] and "torch" not in PROBLEM.candidate.packages


def published(method: str) -> Path:
    return Path(LEADERBOARD) / "solutions" / "eplb" / method / "resources" / "solution.py"


@needs_leaderboard
@needs_torch
@pytest.mark.parametrize("method", [
    pytest.param("human_SOTA", marks=pytest.mark.slow),  # about 0.7 s per call on one core
    "LEVI", "gepa", "openevolve", "shinkaevolve",
])
def test_published_solutions_run_unchanged_in_the_sandbox_on_the_leaderboard_split(method):
    result = evaluate_file(PROBLEM, published(method), "leaderboard")
    assert result.status == "ok", result.artifacts
    metrics = result.metrics
    assert 0.74 < metrics["balancedness_gpu"] < 0.83
    assert 0 < metrics["seconds_per_call"] <= metrics["round_trip_seconds_per_call"]
    expected = evaluator.published_score(metrics["balancedness_gpu"], metrics["seconds_per_call"])
    assert result.score == pytest.approx(expected["score"])

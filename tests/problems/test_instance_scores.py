"""Each problem with natural instances scores them one by one beside the aggregate.

Through the sandbox, as a run evaluates the seed: the per-instance scores must be the
parts the score is made of, so a program best on one of them is really best there.
"""

from __future__ import annotations

import statistics

import pytest

from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem


def seed_result(name: str) -> tuple[dict, dict[str, float]]:
    problem = load_problem(name)
    result = evaluate_file(problem, problem.root / problem.program_path, "train")
    assert result.status == "ok", result.artifacts
    instances = result.metrics["instances"]
    assert all(isinstance(v, float) for v in instances.values())
    return {**result.metrics, "score": result.score}, instances


def test_bin_packing_scores_each_train_instance_by_its_excess():
    metrics, instances = seed_result("bin_packing")
    assert sorted(instances) == [f"train/weibull1k_seed{s}" for s in (101, 102, 103, 104, 105)]
    assert -min(instances.values()) == pytest.approx(metrics["worst_instance_excess_pct"])
    assert all(v <= 0 for v in instances.values())  # no packing beats the L1 bound


def test_cant_be_late_scores_each_scenario_on_the_leaderboard_scale():
    metrics, instances = seed_result("cant_be_late")
    assert len(instances) == 6 * 2 * 3  # environments x deadlines x restart overheads
    assert statistics.fmean(instances.values()) == pytest.approx(metrics["score"])
    assert len(set(instances.values())) > 1


def test_llm_serving_scores_each_workload_by_its_slo_attainment():
    metrics, instances = seed_result("llm_serving")
    assert sorted(instances) == ["train-bursty", "train-flood"]
    assert statistics.fmean(instances.values()) == pytest.approx(metrics["score"])


def test_eplb_scores_each_next_window_by_its_gpu_balance():
    metrics, instances = seed_result("eplb")
    assert sorted(instances, key=lambda n: int(n.split()[1])) == [f"window {i}" for i in range(1, 8)]
    assert statistics.fmean(instances.values()) == pytest.approx(metrics["balancedness_gpu"])


def test_txn_scheduling_scores_each_workload_by_its_makespan():
    metrics, instances = seed_result("txn_scheduling")
    assert sorted(instances) == ["workloads_1", "workloads_2", "workloads_3"]
    assert all(instances[name] == -metrics[f"makespan_{name}"] for name in instances)
    assert sum(instances.values()) == metrics["score"]

import textwrap
from pathlib import Path

import pytest

from evaluators.contract import InvalidProgram
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "cant_be_late"



evaluator = load_problem_file("cant_be_late", on_path=False)
simulation = evaluator._SKY_SPOT["sky_spot.simulation"]
Strategy = evaluator._SKY_SPOT["sky_spot.strategies.strategy"].Strategy
ClusterType = evaluator._SKY_SPOT["sky_spot.utils"].ClusterType
scenarios = evaluator._SKY_SPOT["sky_spot.scenarios"]


def _program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text(
        "import math\nfrom sky_spot.strategies.strategy import Strategy\n"
        "from sky_spot.utils import ClusterType\n\n" + textwrap.dedent(body)
    )
    return str(path)


@pytest.fixture(scope="module")
def greedy() -> dict:
    return evaluator.evaluate(str(ROOT / "baselines" / "greedy.py"), "train")


def test_greedy_reproduces_the_leaderboard_mean_cost_on_its_1080_runs(greedy):
    assert greedy["runs"] == 1080
    assert greedy["mean_cost"] == pytest.approx(119.035, abs=5e-4)
    assert greedy["leaderboard_score"] == 28


def test_uniform_progress_reproduces_the_published_mean_cost():
    result = evaluator.evaluate(str(ROOT / "baselines" / "uniform_progress.py"), "train")
    assert result["mean_cost"] == pytest.approx(99.230, abs=5e-4)
    assert result["leaderboard_score"] == 48


def test_seed_as_shipped_is_the_greedy_baseline(greedy):
    seed = evaluator.evaluate(str(ROOT / "seed.py"), "train")
    assert seed["mean_cost"] == pytest.approx(greedy["mean_cost"], abs=1e-9)
    assert seed["score"] == pytest.approx(100 * (146.88 - seed["mean_cost"]) / (146.88 - 46.7088))


def test_artifacts_name_the_costly_scenarios_and_the_deadline_misses(greedy):
    artifacts = greedy["artifacts"]
    table = artifacts["per_scenario"].splitlines()
    assert len(table) == 1 + 6 * 2 * 3
    assert "us-west-2a_v100_8" in artifacts["per_scenario"]
    costs = [float(line.split(" | ")[3]) for line in table[1:]]
    assert costs == sorted(costs, reverse=True)
    assert "window" in artifacts["worst_runs"] and "$" in artifacts["worst_runs"]
    assert "119.0" in artifacts["summary"]
    assert artifacts["deadline_misses"] == "none"


def test_train_is_the_leaderboard_set_and_test_holds_out_other_windows():
    train = scenarios.scenarios("train")
    test = scenarios.scenarios("test")
    assert len(train) == 1080 and len(test) == 720
    train_windows = {(s.env, s.window) for s in train}
    assert not train_windows & {(s.env, s.window) for s in test}
    assert {s.env for s in test} - {s.env for s in train} == {"us-west-2a_k80_1", "us-west-2b_v100_8"}
    with pytest.raises(scenarios.UnknownSplit, match="train, test"):
        scenarios.scenarios("validation")


def test_quick_stage_is_a_subset_of_train(tmp_path):
    quick = evaluator.evaluate_quick(str(ROOT / "baselines" / "greedy.py"))
    assert quick["runs"] == 180


def _always(kind):
    class Always(Strategy):
        def _step(self, last_cluster_type, has_spot):
            return kind

    return Always


def test_ticks_bill_the_instance_that_ran_and_a_start_costs_one_restart():
    # 48 h of work plus a 72 s start needs 289 ten-minute ticks.
    result = simulation.run_strategy(_always(ClusterType.SPOT), [0] * 400, 600.0, 48, 70, 0.02)
    assert result.spot_ticks == 289 and result.on_demand_ticks == 0
    assert result.cost == pytest.approx(289 * 0.9731 / 6)
    assert result.finish_seconds == pytest.approx(48 * 3600 + 72)


def test_a_preemption_costs_a_restart_and_the_safety_net_forces_on_demand():
    trace = [0] * 100 + [1] * 400
    result = simulation.run_strategy(_always(ClusterType.SPOT), trace, 600.0, 48, 52, 0.1)
    assert result.preemptions == 1
    assert result.on_demand_ticks > 0
    assert not result.missed_deadline
    assert result.cost == pytest.approx((result.spot_ticks * 0.9731 + result.on_demand_ticks * 3.06) / 6)


def test_running_past_the_trace_is_an_evaluation_error():
    with pytest.raises(simulation.TraceExhausted, match="unfinished"):
        simulation.run_strategy(_always(ClusterType.SPOT), [0] * 100, 600.0, 48, 70, 0.02)


def test_a_decision_that_is_not_a_cluster_type_is_rejected(tmp_path):
    path = _program(tmp_path, """
        class Stringly(Strategy):
            def _step(self, last_cluster_type, has_spot):
                return "SPOT"
    """)
    with pytest.raises(InvalidProgram, match="expected a ClusterType"):
        evaluator.evaluate(path)


def test_a_program_without_a_strategy_or_with_two_is_rejected(tmp_path):
    with pytest.raises(InvalidProgram, match="no subclass"):
        evaluator.evaluate(_program(tmp_path, "def step(x):\n    return x\n"))
    path = _program(tmp_path, """
        class A(Strategy):
            def _step(self, last_cluster_type, has_spot):
                return ClusterType.SPOT

        class B(Strategy):
            def _step(self, last_cluster_type, has_spot):
                return ClusterType.NONE
    """)
    with pytest.raises(InvalidProgram, match="several strategies"):
        evaluator.evaluate(path)
    path = _program(tmp_path, """
        class Mute(Strategy):
            NAME = "mute"
    """)
    with pytest.raises(InvalidProgram, match="does not define _step"):
        evaluator.evaluate(path)


def test_faking_progress_or_erasing_restart_overhead_changes_nothing(tmp_path):
    policy = """
        class SpotOrWait(Strategy):
            def _step(self, last_cluster_type, has_spot):
                {tamper}
                return ClusterType.SPOT if has_spot else ClusterType.NONE
    """
    honest = evaluator.evaluate_quick(_program(tmp_path, policy.format(tamper="pass")))
    tamper = (
        "self.remaining_restart_overhead = 0.0; self.restart_overhead = 0.0; "
        "self.env.cluster_type = ClusterType.SPOT; self.env.elapsed_seconds = 0.0; "
        "self.task_done_time.append(3600.0)"
    )
    cheat = evaluator.evaluate_quick(_program(tmp_path, policy.format(tamper=tamper)))
    assert cheat["mean_cost"] == honest["mean_cost"]
    assert cheat["preemptions_per_run"] == honest["preemptions_per_run"]

import textwrap
from pathlib import Path

import pytest

from evaluators.contract import InvalidProgram
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "cant_be_late_multi"
SCENARIOS = (
    "2_zones_same_region", "2_regions_east_west", "3_regions_diverse",
    "3_zones_same_region", "5_regions_high_diversity", "all_9_regions",
)



evaluator = load_problem_file("cant_be_late_multi", on_path=False)
simulation = evaluator._SKY_SPOT["sky_spot.simulation"]
MultiRegionStrategy = evaluator._SKY_SPOT["sky_spot.strategies.multi_strategy"].MultiRegionStrategy
ClusterType = evaluator._SKY_SPOT["sky_spot.utils"].ClusterType
scenarios = evaluator._SKY_SPOT["sky_spot.scenarios"]


def _program(tmp_path: Path, body: str, name: str = "candidate") -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(
        "from sky_spot.strategies.multi_strategy import MultiRegionStrategy\n"
        "from sky_spot.utils import ClusterType\n\n" + textwrap.dedent(body)
    )
    return str(path)


@pytest.fixture(scope="module")
def baseline() -> dict:
    return evaluator.evaluate(str(ROOT / "baselines" / "round_robin_uniform.py"), "train")


def test_baseline_cost_is_the_documented_reproduction_of_the_leaderboard_baseline(baseline):
    # The leaderboard publishes $82.1869; README.md explains the 8.6 % gap (zone-move timing).
    assert baseline["runs"] == 34
    assert baseline["mean_cost"] == pytest.approx(89.2432, abs=1e-3)
    assert abs(baseline["mean_cost"] - 82.1869) / 82.1869 < 0.09
    means = [baseline[f"cost_{name}"] for name in SCENARIOS]
    assert baseline["mean_cost"] == pytest.approx(sum(means) / 6)


def test_seed_as_shipped_is_the_baseline(baseline):
    seed = evaluator.evaluate(str(ROOT / "seed.py"), "train")
    assert seed["mean_cost"] == baseline["mean_cost"]


def test_artifacts_rank_the_scenarios_and_show_the_worst_runs(baseline):
    artifacts = baseline["artifacts"]
    rows = artifacts["per_scenario"].splitlines()[1:]
    assert sorted(r.split(" | ")[0] for r in rows) == sorted(SCENARIOS)
    costs = [float(r.split(" | ")[2]) for r in rows]
    assert costs == sorted(costs, reverse=True)
    assert "zone moves" in artifacts["worst_runs"]
    assert "82.1869" in artifacts["summary"]


def test_test_split_uses_only_windows_the_leaderboard_never_uses():
    train = scenarios.scenarios("train")
    test = scenarios.scenarios("test")
    assert [s.zones for s in train] == [s.zones for s in test]
    assert max(w for s in train for w in s.windows) == 7
    assert min(w for s in test for w in s.windows) >= 8
    assert sum(len(s.windows) for s in test) == 2 * sum(len(s.windows) for s in train)
    quick = evaluator.evaluate_quick(str(ROOT / "seed.py"))
    assert quick["runs"] == 1


class HopToSpot(MultiRegionStrategy):
    def _step(self, last_cluster_type, has_spot):
        if has_spot:
            return ClusterType.SPOT
        self.env.switch_region(1)
        return ClusterType.NONE


def test_a_zone_move_idles_one_tick_and_spot_is_billed_at_the_new_zones_price():
    gap = 195.0
    result = simulation.run_strategy(HopToSpot, [[1] * 1200, [0] * 1200], [1.5, 0.9], gap, 48, 52, 0.2)
    ticks = -(-(48 * 3600 + 720) // gap)
    assert result.region_switches == 1
    assert result.spot_ticks == ticks and result.on_demand_ticks == 0
    assert result.cost == pytest.approx(ticks * 0.9 * gap / 3600)
    assert result.finish_seconds == pytest.approx(gap + 48 * 3600 + 720)


def test_a_bad_zone_index_or_decision_is_rejected(tmp_path):
    path = _program(tmp_path, """
        class Lost(MultiRegionStrategy):
            def _step(self, last_cluster_type, has_spot):
                self.env.switch_region(self.env.get_num_regions())
                return ClusterType.NONE
    """)
    with pytest.raises(InvalidProgram, match="zones are 0"):
        evaluator.evaluate(path)
    path = _program(tmp_path, """
        class Silent(MultiRegionStrategy):
            def _step(self, last_cluster_type, has_spot):
                return None
    """)
    with pytest.raises(InvalidProgram, match="expected a ClusterType"):
        evaluator.evaluate(path)
    with pytest.raises(InvalidProgram, match="no subclass"):
        evaluator.evaluate(_program(tmp_path, "X = 1\n"))


def test_launching_while_moving_gets_no_instance_in_either_zone(tmp_path):
    path = _program(tmp_path, """
        class Teleport(MultiRegionStrategy):
            def _step(self, last_cluster_type, has_spot):
                if not has_spot:
                    self.env._region = 1
                    self.env.switch_region((self.env.get_current_region() + 1) % self.env.get_num_regions())
                return ClusterType.SPOT
    """)
    honest = _program(tmp_path, """
        class Hop(MultiRegionStrategy):
            def _step(self, last_cluster_type, has_spot):
                if not has_spot:
                    self.env.switch_region((self.env.get_current_region() + 1) % self.env.get_num_regions())
                    return ClusterType.NONE
                return ClusterType.SPOT
    """, name="honest")
    assert evaluator.evaluate(path)["mean_cost"] >= evaluator.evaluate(honest)["mean_cost"] - 1e-9


def test_both_problems_evaluate_in_one_process():
    single = load_problem_file("cant_be_late", on_path=False)
    single_quick = single.evaluate_quick(str(ROOT.parent / "cant_be_late" / "seed.py"))
    multi_quick = evaluator.evaluate_quick(str(ROOT / "seed.py"))
    assert single_quick["runs"] == 180 and multi_quick["runs"] == 1
    assert single.evaluate_quick(str(ROOT.parent / "cant_be_late" / "seed.py")) == single_quick

import textwrap
from pathlib import Path

import numpy as np
import pytest

from evolve.evaluators.candidate_server import copy_public
from evolve.evaluators.channel import open_candidate
from evolve.evaluators.contract import CandidateFailed, InvalidProgram
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "cant_be_late"
PROBLEM = load_problem(ROOT)

evaluator = load_problem_file("cant_be_late", on_path=False)
simulation = evaluator._SKY_SPOT["sky_spot.simulation"]
scenarios = evaluator._SKY_SPOT["sky_spot.scenarios"]
SPOT, ON_DEMAND, NONE = simulation.SPOT, simulation.ON_DEMAND, simulation.NONE
HEADER = "import math\nfrom sky_spot.strategies.strategy import Strategy\nfrom sky_spot.utils import ClusterType\n\n"


@pytest.fixture(scope="module")
def public_view(tmp_path_factory) -> Path:
    """The problem's public modules only, as the candidate's process sees them in a run."""
    view = tmp_path_factory.mktemp("public")
    copy_public(ROOT, PROBLEM.candidate.public, view)
    return view


def _score(program: str | Path, view: Path, split: str = "train", quick: bool = False) -> dict:
    with open_candidate(program, public=[view]) as candidate:
        return (evaluator.evaluate_quick if quick else evaluator.evaluate)(candidate, split)


def _program(tmp_path: Path, body: str, name: str = "candidate") -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


@pytest.fixture(scope="module")
def greedy(public_view) -> dict:
    return _score(ROOT / "baselines" / "greedy.py", public_view)


def test_greedy_reproduces_the_leaderboard_mean_cost_on_its_1080_runs(greedy):
    assert greedy["runs"] == 1080
    assert greedy["mean_cost"] == pytest.approx(119.035, abs=5e-4)
    assert greedy["leaderboard_score"] == 28


def test_uniform_progress_reproduces_the_published_mean_cost(public_view):
    result = _score(ROOT / "baselines" / "uniform_progress.py", public_view)
    assert result["mean_cost"] == pytest.approx(99.230, abs=5e-4)
    assert result["leaderboard_score"] == 48
    assert result["deadline_misses"] == 112


def test_seed_as_shipped_is_the_greedy_baseline(greedy, public_view):
    seed = _score(ROOT / "seed.py", public_view)
    assert seed["mean_cost"] == pytest.approx(greedy["mean_cost"], abs=1e-9)
    assert seed["score"] == pytest.approx(100 * (146.88 - seed["mean_cost"]) / (146.88 - 46.7088))


def test_a_program_in_the_published_style_runs_unchanged(tmp_path, greedy, public_view):
    # The leaderboard's programs import the strategy module, map ClusterType through a
    # str enum of their own, keep deques, and define _from_args and NAME.
    path = tmp_path / "published.py"
    path.write_text(textwrap.dedent("""
        import enum
        import math
        from collections import deque

        from sky_spot.strategies import strategy
        from sky_spot.utils import ClusterType as SkyClusterType


        class Local(str, enum.Enum):
            SPOT = "SPOT"
            ON_DEMAND = "ON_DEMAND"
            NONE = "NONE"


        class PublishedGreedy(strategy.Strategy):
            NAME = "published_greedy"

            def __init__(self, args):
                super().__init__(args)
                self.seen = deque(maxlen=12)

            def reset(self, env, task):
                super().reset(env, task)
                self.seen.clear()

            def _step(self, last_cluster_type, has_spot):
                self.seen.append(has_spot)
                if self.task_done:
                    return SkyClusterType.NONE
                gap = self.env.gap_seconds
                left = self.task_duration - sum(self.task_done_time)
                ticks = max(0, math.floor((self.deadline - self.env.elapsed_seconds) / gap))
                if math.ceil((left + self.restart_overhead) / gap) >= ticks:
                    choice = Local.ON_DEMAND
                elif math.ceil((left + 2 * self.restart_overhead) / gap) >= ticks:
                    keep = self.env.cluster_type == SkyClusterType.SPOT and has_spot
                    choice = Local.SPOT if keep else Local.ON_DEMAND
                else:
                    choice = Local.SPOT if has_spot else Local.NONE
                return SkyClusterType[choice.name]

            @classmethod
            def _from_args(cls, parser):
                args, _ = parser.parse_known_args()
                return cls(args)
    """))
    assert _score(path, public_view)["mean_cost"] == greedy["mean_cost"]


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


def test_quick_stage_is_a_subset_of_train(public_view):
    assert _score(ROOT / "baselines" / "greedy.py", public_view, quick=True)["runs"] == 180


def _always(code: int, trace: list[int], deadline: float, overhead: float) -> simulation.RunResult:
    runs = simulation.Runs(np.array([trace]), 600.0, 48, [deadline], [overhead])
    return simulation.run_lockstep(runs, lambda tick, active: np.full(len(active), code))[0]


def test_ticks_bill_the_instance_that_ran_and_a_start_costs_one_restart():
    # 48 h of work plus a 72 s start needs 289 ten-minute ticks.
    result = _always(SPOT, [0] * 400, 70, 0.02)
    assert result.spot_ticks == 289 and result.on_demand_ticks == 0
    assert result.cost == pytest.approx(289 * 0.9731 / 6)
    assert result.finish_seconds == pytest.approx(48 * 3600 + 72)


def test_a_preemption_costs_a_restart_and_the_safety_net_forces_on_demand():
    result = _always(SPOT, [0] * 100 + [1] * 400, 52, 0.1)
    assert result.preemptions == 1
    assert result.on_demand_ticks > 0
    assert not result.missed_deadline
    assert result.cost == pytest.approx((result.spot_ticks * 0.9731 + result.on_demand_ticks * 3.06) / 6)


def test_waiting_forever_is_overruled_by_the_safety_net_in_time():
    result = _always(NONE, [1] * 500, 52, 0.05)
    assert result.spot_ticks == 0 and not result.missed_deadline
    assert result.finish_seconds <= 52 * 3600


def test_runs_in_lock_step_are_asked_together_and_end_on_their_own_ticks():
    runs = simulation.Runs(np.zeros((2, 400)), 600.0, 48, [70, 70], [0.02, 0.2])
    asked = []

    def spot(tick, active):
        asked.append(active.tolist())
        return np.full(len(active), SPOT)

    results = simulation.run_lockstep(runs, spot)
    assert asked[0] == [0, 1] and asked[-1] == [1]
    assert results[0].finish_seconds < results[1].finish_seconds


def test_lock_step_runs_cost_what_each_costs_alone():
    trace = np.random.default_rng(3).random((3, 500)) < 0.4
    deadlines, overheads = [52, 70, 52], [0.1, 0.02, 0.05]

    def spot_or_wait(tick, active):
        return np.where(runs.has_spot[active], SPOT, NONE)

    runs = simulation.Runs(trace, 600.0, 48, deadlines, overheads)
    together = simulation.run_lockstep(runs, spot_or_wait)
    for k in range(3):
        runs = simulation.Runs(trace[k:k + 1], 600.0, 48, deadlines[k:k + 1], overheads[k:k + 1])
        assert simulation.run_lockstep(runs, spot_or_wait) == [together[k]]


def test_running_past_the_trace_is_an_evaluation_error():
    with pytest.raises(simulation.TraceExhausted, match="unfinished"):
        _always(SPOT, [0] * 100, 70, 0.02)


def test_a_decision_that_is_not_a_cluster_type_is_rejected(tmp_path, public_view):
    path = _program(tmp_path, """
        class Stringly(Strategy):
            def _step(self, last_cluster_type, has_spot):
                return "SPOT"
    """)
    with pytest.raises(InvalidProgram, match=r"window \d+, deadline .*'SPOT' at tick 0; expected a ClusterType"):
        _score(path, public_view, quick=True)


def test_a_program_without_a_strategy_or_with_two_is_rejected(tmp_path, public_view):
    with pytest.raises(InvalidProgram, match="no subclass"):
        _score(_program(tmp_path, "def step(x):\n    return x\n"), public_view, quick=True)
    path = _program(tmp_path, """
        class A(Strategy):
            def _step(self, last_cluster_type, has_spot):
                return ClusterType.SPOT

        class B(Strategy):
            def _step(self, last_cluster_type, has_spot):
                return ClusterType.NONE
    """)
    with pytest.raises(InvalidProgram, match="several strategies"):
        _score(path, public_view, quick=True)
    path = _program(tmp_path, """
        class Mute(Strategy):
            NAME = "mute"
    """)
    with pytest.raises(InvalidProgram, match="does not define _step"):
        _score(path, public_view, quick=True)


def test_faking_progress_or_erasing_restart_overhead_changes_nothing(tmp_path, public_view):
    policy = """
        class SpotOrWait(Strategy):
            def _step(self, last_cluster_type, has_spot):
                {tamper}
                return ClusterType.SPOT if has_spot else ClusterType.NONE
    """
    honest = _score(_program(tmp_path, policy.format(tamper="pass")), public_view, quick=True)
    tamper = (
        "self.remaining_restart_overhead = 0.0; self.restart_overhead = 0.0; "
        "self.env.cluster_type = ClusterType.SPOT; self.env.elapsed_seconds = 0.0; "
        "self.task_done_time.append(3600.0)"
    )
    cheat = _score(_program(tmp_path, policy.format(tamper=tamper), "cheat"), public_view, quick=True)
    assert cheat["mean_cost"] == honest["mean_cost"]
    assert cheat["preemptions_per_run"] == honest["preemptions_per_run"]


GREEDY_BODY = (ROOT / "baselines" / "greedy.py").read_text().split("from sky_spot.utils import ClusterType\n", 1)[1]


@pytest.mark.parametrize("garbage, reason", [
    ("np.full(len(runs), 7, dtype=np.int8)", "not a ClusterType"),
    ("np.zeros(len(runs) + 1, dtype=np.int8)", "something other than"),
    ("{'run': 10 ** 9, 'error': 'forged'}", "neither decisions nor an error"),
    ("['SPOT'] * len(runs)", "something other than"),
])
def test_a_fleet_rewritten_to_answer_garbage_is_invalid(tmp_path, public_view, garbage, reason):
    path = _program(tmp_path, textwrap.dedent(f"""
        import numpy as np
        import sky_spot.fleet

        def forged(self, tick, elapsed, runs, *rest):
            return {garbage}

        sky_spot.fleet.StrategyFleet.step = forged
    """) + GREEDY_BODY)
    with pytest.raises(InvalidProgram, match=reason):
        _score(path, public_view, quick=True)


def test_a_program_that_claims_a_strategy_it_lacks_fails_when_the_runs_start(tmp_path, public_view):
    path = _program(tmp_path, """
        import sky_spot.fleet
        sky_spot.fleet.strategy_problem = lambda: None
    """)
    with pytest.raises(CandidateFailed, match="no subclass"):
        _score(path, public_view, quick=True)


@pytest.mark.slow
def test_in_the_sandbox_the_seed_scores_its_number_and_a_cheat_gains_nothing(tmp_path):
    seed = evaluate_file(PROBLEM, ROOT / "seed.py", "train")
    assert seed.status == "ok", seed.stages
    assert seed.metrics["mean_cost"] == pytest.approx(119.0345, abs=5e-5)
    # The greedy policy, after trying to read the traces, reach the simulator and the
    # prices, and patch the instance types its own modules hold: in its own process none of that reaches the score.
    cheat = _program(tmp_path, textwrap.dedent(f"""
        import sys
        import sky_spot.fleet
        import sky_spot.utils
        LEAKS = []
        for path in {[str(ROOT / "data" / "traces.npz"), str(ROOT / "evaluate.py")]!r}:
            try:
                open(path, "rb").close()
                LEAKS.append(path)
            except OSError:
                pass
        for name in ("sky_spot.simulation", "sky_spot.scenarios", "sky_spot.prices", "evaluate"):
            try:
                __import__(name)
                LEAKS.append(name)
            except ImportError:
                pass
        sky_spot.utils.ClusterType.ON_DEMAND._value_ = "spot"
        if LEAKS:
            raise RuntimeError("reachable: " + ", ".join(LEAKS))
    """) + GREEDY_BODY)
    result = evaluate_file(PROBLEM, cheat, "train")
    assert result.status == "ok", result.stages
    assert result.score == seed.score

import json
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from evolve.evaluators.channel import open_candidate
from evolve.evaluators.contract import CandidateFailed, InvalidProgram, load_program
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "jobshop"

evaluator = load_problem_file("jobshop")
taillard = sys.modules["taillard"]
dispatch = sys.modules["dispatch"]

# Mean gap (%) per size class on ta01-ta80 to the best-known upper bound, as in the README.
TEST_GAPS = {
    "spt": (56.9, 63.8, 65.3, 67.7, 67.4, 50.3, 55.3, 39.8),
    "mwkr": (27.0, 28.5, 28.6, 31.3, 34.3, 23.3, 24.7, 12.9),
    "mopnr": (26.2, 30.7, 28.0, 29.3, 34.5, 22.3, 24.4, 12.6),
    "fdd_mwkr": (24.9, 26.8, 24.6, 28.5, 31.8, 21.1, 23.3, 12.9),
    "random_rule": (45.1, 47.5, 47.7, 46.7, 48.7, 30.0, 38.7, 18.8),
    "evolved_offline": (18.9, 22.6, 20.7, 24.3, 26.1, 16.8, 17.2, 8.5),
}
TRAIN_SCORES = {
    "spt": -68.05, "mwkr": -32.46, "mopnr": -31.21, "fdd_mwkr": -29.97, "random_rule": -46.00, "evolved_offline": -25.20,
}
CLASSES = ("15x15", "20x15", "20x20", "30x15", "30x20", "50x15", "50x20", "100x20")


def _rule(name: str):
    path = ROOT / ("seed.py" if name == "seed" else f"baselines/{name}.py")
    return load_program(path, f"jobshop_rule_{name}").priority


def _direct(priority):
    return lambda offers: [priority(offer) for offer in offers]


def _score(priority, split: str = "train") -> dict:
    return evaluator.score_rule(_direct(priority), evaluator.split_instances(split), float("inf"))


def test_all_80_instances_reproduce_their_check_rows():
    records = taillard.taillard_records()
    instances = taillard.taillard_instances()
    assert len(instances) == 80
    for record, instance in zip(records, instances):
        assert instance.times.shape == (record["jobs"], record["machines"])
        assert instance.times[0].tolist() == record["check_first_job_times"], record["name"]
        assert (instance.machines[0] + 1).tolist() == record["check_first_job_machines"], record["name"]
        assert sorted(instance.machines[-1].tolist()) == list(range(record["machines"]))
        assert 1 <= instance.times.min() and instance.times.max() <= 99


def test_trivial_lower_bound_is_taillards_1993_column_on_every_instance():
    table = json.loads((ROOT / "data" / "taillard_1993_bounds.json").read_text())
    for row, instance, record in zip(table, taillard.taillard_instances(), taillard.taillard_records()):
        assert instance.name == row["name"]
        assert instance.lower_bound == row["lower_bound_1993"], instance.name
        assert instance.lower_bound <= record["lower_bound"] <= record["upper_bound"] == instance.upper_bound


def test_park_miller_stream_matches_the_minimal_standard_check_value():
    stream = taillard.ParkMiller(1)
    for _ in range(10_000):
        stream.uniform(1, 99)
    assert stream.state == 1_043_618_065  # Park and Miller (1988): x_10000 from x_0 = 1
    with pytest.raises(ValueError, match="seed"):
        taillard.ParkMiller(0)


def test_an_operation_is_left_shifted_into_an_idle_gap():
    # job 0: m0 for 5, then m1 for 2; job 1: m1 for 2, then m0 for 1.
    instance = taillard.Instance("tiny", np.array([[5, 2], [2, 1]]), np.array([[0, 1], [1, 0]]))
    lowest_job_first = _direct(lambda ops: -np.arange(ops["duration"].size, dtype=float))
    outcome = dispatch.schedule_all([instance], lowest_job_first)[0]
    # job 1's m1 operation fits before job 0's [5, 7] on m1; its m0 operation waits for m0.
    assert outcome.starts.tolist() == [[0, 5], [0, 5]]
    assert outcome.makespan == 7


def _assert_feasible_and_semi_active(outcome):
    """No overlaps, precedence kept, and no operation could start earlier in place."""
    instance = outcome.instance
    starts, times, machines = outcome.starts, instance.times, instance.machines
    ends = starts + times
    job_release = np.zeros_like(starts)
    job_release[:, 1:] = ends[:, :-1]
    assert (starts >= job_release).all()
    machine_release = np.zeros_like(starts)
    for machine in range(times.shape[1]):
        rows, cols = np.nonzero(machines == machine)
        order = np.argsort(starts[rows, cols])
        rows, cols = rows[order], cols[order]
        assert (starts[rows, cols][1:] >= ends[rows, cols][:-1]).all()
        machine_release[rows[1:], cols[1:]] = ends[rows, cols][:-1]
    assert ((starts == job_release) | (starts == machine_release)).all()
    assert outcome.makespan == ends.max() >= instance.lower_bound


def test_schedules_are_feasible_and_semi_active():
    outcomes = dispatch.schedule_all(evaluator.train_instances(), _direct(_rule("random_rule")))
    for outcome in outcomes:
        _assert_feasible_and_semi_active(outcome)


def test_published_l2d_table_means_reproduce_table_3():
    rows = json.loads((ROOT / "data" / "l2d_published.json").read_text())[:10]
    means = {key: np.mean([100 * (r[key] - r["UB"]) / r["UB"] for r in rows]) for key in ("SPT", "MWKR", "FDD", "MOPNR", "L2D")}
    assert {k: round(v, 1) for k, v in means.items()} == {"SPT": 54.8, "MWKR": 56.7, "FDD": 47.1, "MOPNR": 45.0, "L2D": 26.0}


@pytest.mark.slow
@pytest.mark.parametrize("baseline", sorted(TEST_GAPS))
def test_baseline_gaps_per_size_class_on_taillard(baseline):
    result = _score(_rule(baseline), "test")
    assert tuple(round(result[f"gap_{size}"], 1) for size in CLASSES) == TEST_GAPS[baseline]
    assert result["score"] == pytest.approx(-np.mean([result[f"gap_{size}"] for size in CLASSES]))


@pytest.mark.parametrize("baseline", sorted(TRAIN_SCORES))
def test_baseline_train_scores(baseline):
    assert round(_score(_rule(baseline))["score"], 2) == TRAIN_SCORES[baseline]


def test_correct_rules_beat_the_papers_rule_numbers_and_approach_l2d():
    rows = json.loads((ROOT / "data" / "l2d_published.json").read_text())[:10]
    published_mwkr = np.mean([100 * (r["MWKR"] - r["UB"]) / r["UB"] for r in rows])
    l2d = np.mean([100 * (r["L2D"] - r["UB"]) / r["UB"] for r in rows])
    ta15x15 = taillard.taillard_instances()[:10]
    ours = evaluator.score_rule(_direct(_rule("mwkr")), ta15x15, float("inf"))["gap_15x15"]
    assert ours < published_mwkr - 20
    assert abs(ours - l2d) < 2


@pytest.mark.slow
def test_evolved_rule_beats_the_best_published_l2d_policy_in_every_size_class():
    rows = json.loads((ROOT / "data" / "l2d_published.json").read_text())
    result = _score(_rule("evolved_offline"), "test")
    for index, size in enumerate(CLASSES):
        group = rows[10 * index : 10 * index + 10]
        l2d = min(
            np.mean([100 * (r[key] - r["UB"]) / r["UB"] for r in group])
            for key in ("L2D", "L2D30x20")
            if group[0][key] is not None
        )
        assert result[f"gap_{size}"] < l2d, size


def test_seed_is_mwkr_and_trails_fdd_mwkr():
    seed = _score(_rule("seed"))
    assert seed["score"] == _score(_rule("mwkr"))["score"]
    assert seed["score"] < _score(_rule("fdd_mwkr"))["score"]


def test_train_instances_are_fresh_and_of_every_size_class():
    train = evaluator.train_instances()
    test = taillard.taillard_instances()
    assert [i.size_class for i in train] == [size for size in CLASSES for _ in range(evaluator.TRAIN_PER_CLASS)]
    assert {i.name for i in train}.isdisjoint({i.name for i in test})
    assert all(i.upper_bound is None for i in train)
    test_rows = {tuple(i.times[0]) for i in test}
    assert len({tuple(i.times[0]) for i in train} - test_rows) == len(train)


def test_features_tell_greedy_rules_apart():
    spt, mwkr = _score(_rule("spt")), _score(_rule("mwkr"))
    assert spt["shortest_share"] == 1.0
    assert mwkr["shortest_share"] < 0.2
    wait_averse = _score(lambda ops: -np.maximum(ops["job_ready"], ops["machine_ready"]))
    assert wait_averse["soonest_share"] == 1.0
    assert mwkr["soonest_share"] < 0.5


def test_artifacts_name_the_worst_instances_and_machine_idleness():
    result = _score(_rule("spt"))
    artifacts = result["artifacts"]
    worst_name = artifacts["worst_instances"].split(" ")[0]
    assert f"gap {result['worst_gap_pct']:.2f} %" in artifacts["worst_instances"].split("), ")[0]
    assert f"worst {worst_name}" in artifacts["size_classes"]
    assert artifacts["machine_idle"].startswith(worst_name)
    machines = next(i for i in evaluator.train_instances() if i.name == worst_name).times.shape[1]
    assert artifacts["machine_idle"].count(" %)") == machines
    assert "lower bound" in artifacts["size_classes"]
    assert artifacts["size_classes"].count("mean gap") == len(CLASSES)


@pytest.mark.parametrize(
    ("priority", "reason"),
    [
        (lambda ops: 1.0, "shape"),
        (lambda ops: -ops["duration"][:-1], "shape"),
        (lambda ops: np.append(ops["duration"], 1.0), "shape"),
        (lambda ops: np.full(ops["duration"].size, np.nan), "NaN or infinite"),
        (lambda ops: np.full(ops["duration"].size, -np.inf), "NaN or infinite"),
        (lambda ops: np.array([]), "shape"),
        (lambda ops: ["a"] * ops["duration"].size, "must be numbers"),
        (lambda ops: None, "shape"),
    ],
)
def test_invalid_priorities_are_rejected_with_a_reason(priority, reason):
    with pytest.raises(InvalidProgram, match=reason):
        _score(priority)


def test_slow_priority_is_rejected():
    def slow(ops):
        time.sleep(0.002)
        return -ops["duration"]

    with pytest.raises(dispatch.DispatchTimeout, match="too slow"):
        evaluator.score_rule(_direct(slow), evaluator.train_instances(), 0.05)


def test_priority_that_edits_its_offer_cannot_change_the_schedule():
    def vandal(ops):
        scores = ops["work_remaining"].copy()
        for value in ops.values():
            if isinstance(value, np.ndarray):
                value[:] = 0
        return scores

    assert _score(vandal)["score"] == _score(_rule("mwkr"))["score"]



def _program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "candidate.py"
    path.write_text("import numpy as np\n\n# EVOLVE-BLOCK-START\n" + textwrap.dedent(body) + "# EVOLVE-BLOCK-END\n")
    return path


def test_the_channel_gives_the_direct_score():
    with open_candidate(ROOT / "baselines" / "fdd_mwkr.py") as candidate:
        over_channel = evaluator.evaluate(candidate)
    assert round(over_channel["score"], 2) == TRAIN_SCORES["fdd_mwkr"]
    assert over_channel["score"] == _score(_rule("fdd_mwkr"))["score"]


@pytest.mark.parametrize(
    ("body", "error", "reason"),
    [
        ("score = 3\n", InvalidProgram, "must define priority"),
        ("def priority(ops):\n    return np.full(ops['duration'].size, np.nan)\n", InvalidProgram, "NaN or infinite"),
        ("def priority(ops):\n    return ops['duration'][1:]\n", InvalidProgram, "shape"),
        ("def priority(ops):\n    return {'a': 1}\n", InvalidProgram, "numbers"),
        ("def priority(ops):\n    return object()\n", InvalidProgram, "plain data"),
        ("def priority(ops):\n    raise RuntimeError('no rule today')\n", CandidateFailed, "no rule today"),
    ],
)
def test_hostile_programs_over_the_channel_fail_with_a_reason(tmp_path, body, error, reason):
    with open_candidate(_program(tmp_path, body)) as candidate:
        with pytest.raises(error, match=reason):
            evaluator.evaluate(candidate)


def test_in_the_sandbox_the_seed_scores_as_mwkr_and_cannot_find_the_bounds(tmp_path):
    snoop = (
        "import glob, importlib.util, os\n"
        f"FOUND = [p for p in [{str(ROOT / 'data' / 'taillard_instances.json')!r}] if os.path.exists(p)]\n"
        "FOUND += glob.glob('**/taillard_instances.json', recursive=True)\n"
        "FOUND += [m for m in ('taillard', 'dispatch', 'evaluate') if importlib.util.find_spec(m)]\n"
        "def priority(ops):\n    assert not FOUND, FOUND\n    return ops['work_remaining']\n"
    )
    path = _program(tmp_path, snoop)
    with open_candidate(path) as unconfined, pytest.raises(CandidateFailed, match="taillard_instances"):
        evaluator.evaluate(unconfined)  # outside the sandbox the snoop does find the data
    problem = load_problem("jobshop")
    snooped = evaluate_file(problem, path)
    seed = evaluate_file(problem, ROOT / "seed.py")
    assert seed.status == "ok", seed.artifacts
    assert round(seed.score, 2) == TRAIN_SCORES["mwkr"]
    assert snooped.status == "ok", snooped.artifacts
    assert snooped.score == seed.score

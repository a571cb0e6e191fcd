"""llm_serving: simulator fidelity (queueing limits, conservation laws), baselines, rejection of bad schedulers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evolve.evaluators.candidate_server import copy_public
from evolve.evaluators.channel import open_candidate
from evolve.evaluators.contract import CandidateFailed, InvalidProgram
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "llm_serving"
PROBLEM = load_problem("llm_serving")
EV = load_problem_file("llm_serving")  # puts the problem folder on sys.path for servesim

from servesim.hosted import HostedScheduler  # noqa: E402
from servesim.latency import InstanceConfig, LatencyModel, llama2_7b_a100  # noqa: E402
from servesim.lockstep import run_lockstep  # noqa: E402
from servesim.simulator import SchedulerError, Simulator  # noqa: E402
from servesim.views import RequestView  # noqa: E402
from servesim.workload import Scenario, Tenant, Turn, generate  # noqa: E402

BASELINES = ["fcfs_round_robin", "least_load", "prefix_affinity", "sjf_predicted", "sjf_oracle", "vtc", "dlpm"]


class FirstInstanceFCFS:
    def route(self, request, cluster):
        return 0

    def priority(self, request, instance, now):
        return request.arrival_time


class OracleSJF(FirstInstanceFCFS):
    def priority(self, request, instance, now):
        return request.predicted_output_len - request.generated


def _tenant(name="t", rate=1.0, cv=1.0, system=0, turns=1.0, user=200.0, out=250.0, think=1.0):
    return Tenant(name, rate, cv, system, turns, user, out, 1.0, think, 1.0, 0.1)


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> Path:
    """The problem's public modules alone, as the candidate's process sees them."""
    folder = tmp_path_factory.mktemp("public")
    copy_public(ROOT, PROBLEM.candidate.public, folder)
    return folder


def score(public: Path, program: str | Path, split: str = "train", oracle: bool = False) -> dict:
    with open_candidate(program, public=[public]) as candidate:
        return EV.evaluate(candidate, split, oracle_lengths=oracle)


def score_quick(public: Path, program: str | Path) -> dict:
    with open_candidate(program, public=[public]) as candidate:
        return EV.evaluate_quick(candidate)


@pytest.fixture(scope="module")
def train_results(public):
    return {name: score(public, ROOT / "baselines" / f"{name}.py", oracle=name == "sjf_oracle") for name in BASELINES}


@pytest.mark.slow
def test_batch_one_with_exponential_service_matches_mm1_waiting_time():
    # One request at a time, service = one prefill iteration of exponential length:
    # c_p * Exp(1000 tokens) = Exp(mean 1 s). M/M/1 at rho = 0.5: Wq = rho / (mu - lambda) = 1 s.
    rng = np.random.default_rng(2)
    n, lam = 60_000, 0.5
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    prompts = np.maximum(1, np.ceil(rng.exponential(1000.0, n))).astype(int)
    conversations = [[Turn(0, i, 0, float(a), int(p), 0, 1, 1, 0.0)] for i, (a, p) in enumerate(zip(arrivals, prompts))]
    latency = LatencyModel(c0=0.0, c_p=1e-3, c_d=0.0, c_a=0.0)
    config = InstanceConfig(kv_capacity_tokens=10**9, token_budget=10**9, max_running=1)
    result = Simulator(conversations, (_tenant(),), 1, FirstInstanceFCFS(), latency, config).run()
    waits = np.array([r.admit_time - r.arrival for r in result.requests])
    mean_service = 1.0005  # E[ceil(Exp(1000))] ms: the rounding adds half a token
    rho = lam * mean_service
    expected = rho * mean_service / (1 - rho)
    assert abs(waits.mean() - expected) / expected < 0.05


def test_littles_law_holds_on_a_bursty_multi_tenant_run():
    scenario = EV.load_scenarios("train")[0]
    result = Simulator(
        generate(scenario, 4096), scenario.tenants, scenario.num_instances, FirstInstanceFCFS(),
        llama2_7b_a100(), InstanceConfig(),
    ).run()
    in_system = result.area_in_system / result.makespan
    rate = len(result.requests) / result.makespan
    mean_time = np.mean([r.finish_time - r.arrival for r in result.requests])
    assert in_system > 5  # a loaded system, so the identity is not trivially 0 = 0
    assert in_system == pytest.approx(rate * mean_time, rel=1e-9)


def test_every_token_is_accounted_for_through_preemption_and_prefix_hits():
    tenants = (_tenant("a", rate=6.0, cv=2.0, system=512, turns=3.0, think=0.5), _tenant("b", rate=3.0, system=256))
    scenario = Scenario("tight", 3, 30.0, 2, 0.6, tenants)
    config = InstanceConfig(kv_capacity_tokens=12_000)
    result = Simulator(
        generate(scenario, config.max_context), tenants, 2, FirstInstanceFCFS(), llama2_7b_a100(), config
    ).run()
    reqs = result.requests
    assert result.preemptions > 0
    assert sum(r.prefix_hits for r in reqs) > 0
    assert all(r.finish_time >= r.first_token_time >= r.admit_time >= r.arrival for r in reqs)
    assert all(r.generated == r.turn.output_len for r in reqs)
    expected_prefill = sum(r.prompt_tokens + r.recomputed - r.prefix_hits - r.abandoned for r in reqs)
    assert result.prefill_tokens == expected_prefill
    assert result.decode_tokens + sum(r.prefill_emits for r in reqs) == sum(r.turn.output_len for r in reqs)


def test_oracle_sjf_removes_head_of_line_blocking_under_overload():
    scenario = Scenario("overload", 7, 60.0, 1, 0.6, (_tenant(rate=24.0),))
    conversations = generate(scenario, 4096)
    runs = {}
    for name, scheduler in (("fcfs", FirstInstanceFCFS()), ("sjf", OracleSJF())):
        result = Simulator(
            conversations, scenario.tenants, 1, scheduler, llama2_7b_a100(), InstanceConfig(), oracle_lengths=True
        ).run()
        runs[name] = (
            np.mean([r.first_token_time - r.arrival for r in result.requests]),
            np.mean([r.finish_time - r.arrival for r in result.requests]),
        )
    assert runs["sjf"][0] < 0.6 * runs["fcfs"][0]
    assert runs["sjf"][1] < 0.85 * runs["fcfs"][1]


@pytest.mark.slow
def test_baselines_score_and_rank_as_their_designs_predict(train_results):
    for name, result in train_results.items():
        assert 0.0 < result["score"] <= 1.0, name
        assert 0.0 < result["jain_fairness"] <= 1.0, name
    r = train_results
    assert r["sjf_oracle"]["score"] > r["fcfs_round_robin"]["score"]
    assert r["sjf_predicted"]["score"] > r["fcfs_round_robin"]["score"]
    assert r["prefix_affinity"]["prefix_hit_rate"] > r["least_load"]["prefix_hit_rate"] + 0.05
    assert r["dlpm"]["prefix_hit_rate"] > r["least_load"]["prefix_hit_rate"] + 0.05
    assert r["vtc"]["jain_fairness"] > r["least_load"]["jain_fairness"]


def test_seed_is_valid_with_informative_artifacts(public):
    result = score(public, ROOT / "seed.py")
    assert np.isfinite(result["score"]) and 0.0 < result["score"] < 1.0
    text = result["artifacts"]["per_scenario"]
    for scenario in EV.load_scenarios("train"):
        assert scenario.name in text
        for tenant in scenario.tenants:
            assert tenant.name in text
    assert "TTFT > target" in result["artifacts"]["slo_misses"]
    quick = score_quick(public, ROOT / "seed.py")
    assert quick["score"] != result["score"]


def test_true_output_length_is_hidden_and_views_are_immutable():
    assert "output_len" not in RequestView._fields
    view = RequestView(*range(len(RequestView._fields)))
    with pytest.raises(AttributeError):
        view.predicted_output_len = 0


BAD_SCHEDULERS = {
    "out_of_range": "class Scheduler:\n    def route(self, r, c): return len(c.instances)\n"
    "    def priority(self, r, i, now): return 0.0\n",
    "float_index": "class Scheduler:\n    def route(self, r, c): return 0.5\n"
    "    def priority(self, r, i, now): return 0.0\n",
    "bool_index": "class Scheduler:\n    def route(self, r, c): return True\n"
    "    def priority(self, r, i, now): return 0.0\n",
    "nan_priority": "class Scheduler:\n    def route(self, r, c): return 0\n"
    "    def priority(self, r, i, now): return float('nan')\n",
    "string_priority": "class Scheduler:\n    def route(self, r, c): return 0\n"
    "    def priority(self, r, i, now): return 'first'\n",
    "mutates_state": "class Scheduler:\n    def route(self, r, c):\n        c.instances[0].kv_used = 0\n        return 0\n"
    "    def priority(self, r, i, now): return 0.0\n",
    "no_scheduler": "def route(r, c): return 0\n",
}


@pytest.mark.parametrize("case", sorted(BAD_SCHEDULERS))
def test_invalid_schedulers_are_rejected_with_a_reason(public, case, tmp_path):
    path = tmp_path / f"{case}.py"
    path.write_text(BAD_SCHEDULERS[case])
    with pytest.raises(InvalidProgram) as info:
        score_quick(public, path)
    assert len(str(info.value)) > 10


def test_scheduler_errors_name_the_fault():
    class Wrong(FirstInstanceFCFS):
        def route(self, request, cluster):
            return 7

    scenario = Scenario("small", 1, 5.0, 2, 0.6, (_tenant(rate=2.0),))
    sim = Simulator(generate(scenario, 4096), scenario.tenants, 2, Wrong(), llama2_7b_a100(), InstanceConfig())
    with pytest.raises(SchedulerError, match="valid indices are 0..1"):
        sim.run()


def test_train_and_test_splits_differ():
    train, test = EV.load_scenarios("train"), EV.load_scenarios("test")
    assert {s.seed for s in train}.isdisjoint({s.seed for s in test})
    assert {s.num_instances for s in test} != {s.num_instances for s in train}
    train_load = sum(t.conversation_rate for t in train[0].tenants)
    assert any(sum(t.conversation_rate for t in s.tenants) > train_load for s in test)


def test_a_scheduler_slower_than_the_budget_is_stopped():
    class Slow(FirstInstanceFCFS):
        def priority(self, request, instance, now):
            return float(sum(range(200_000))) * 0 + request.arrival_time

    scenario = Scenario("small", 1, 30.0, 1, 0.6, (_tenant(rate=8.0),))
    sim = Simulator(
        generate(scenario, 4096), scenario.tenants, 1, Slow(), llama2_7b_a100(), InstanceConfig(), time_budget_s=0.05
    )
    with pytest.raises(SchedulerError, match="budget"):
        sim.run()


def test_seed_reproduces_the_readme_row_on_the_channel(public):
    result = score(public, ROOT / "seed.py")
    assert (round(result["score"], 3), round(result["ttft_p99"], 2)) == (0.814, 5.51)
    assert (round(result["jain_fairness"], 3), round(result["prefix_hit_rate"], 3)) == (0.985, 0.414)


def test_lockstep_scenarios_score_exactly_as_each_alone(public):
    scenarios = EV.load_scenarios("train")
    with open_candidate(ROOT / "baselines" / "dlpm.py", public=[public]) as candidate:
        together = EV.simulate(candidate, scenarios)
        alone = [EV.simulate(candidate, [scenario])[0] for scenario in scenarios]
    assert together == alone


def test_lockstep_needs_the_round_trips_of_the_longest_run_only():
    lengths = [3, 7, 5]

    def run(count):
        for step in range(count):
            assert (yield "step", (step,)) == step * 10
        return count

    exchanges = []

    def answer(batch):
        exchanges.append([index for index, _ in batch])
        return [args[0] * 10 for _, (_, args) in batch]

    assert run_lockstep([run(n) for n in lengths], answer) == lengths
    assert len(exchanges) == max(lengths)
    assert exchanges[0] == [0, 1, 2] and exchanges[-1] == [1]


def test_numpy_answers_are_accepted_as_numbers():
    class NumpyAnswers(FirstInstanceFCFS):
        def route(self, request, cluster):
            return np.int64(len(cluster.instances) - 1)

        def priority(self, request, instance, now):
            return np.float32(request.arrival_time)

    hosted = HostedScheduler(NumpyAnswers())
    request = list(range(len(RequestView._fields)))
    instances = np.array([[i, 0, 0, 0, 0, 100, 0] for i in range(3)])
    assert hosted.arrive(request, 1.0, 2, instances, np.zeros(2)) == [2, 4.0]
    assert hosted.priorities([request], [0, 0, 0, 0, 0, 100, 0], [0.0, 0.0], 1.0) == [4.0]


HOSTILE = {
    "sees_the_simulator": "import servesim.simulator\n" + BAD_SCHEDULERS["out_of_range"],
    "sees_the_workload": "from servesim.workload import generate\n" + BAD_SCHEDULERS["out_of_range"],
    "sees_the_scorer": "import evaluate\n" + BAD_SCHEDULERS["out_of_range"],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_program_cannot_import_the_simulator_or_the_scorer(public, case, tmp_path):
    path = tmp_path / f"{case}.py"
    path.write_text(HOSTILE[case])
    with pytest.raises(CandidateFailed, match="ModuleNotFoundError"):
        score_quick(public, path)


PATCHES_ITS_SIDE = '''
import sys
import servesim.hosted as hosted
import servesim.views as views

class Scheduler:
    def route(self, request, cluster):
        hosted.HostedScheduler.priorities = lambda self, requests, *a: [0.0] * (len(requests) + 1)
        return 0

    def priority(self, request, instance, now):
        return 0.0
'''

GARBAGE = {
    "object_priority": "class Scheduler:\n    def route(self, r, c): return 0\n"
    "    def priority(self, r, i, now): return object()\n",
    "list_route": "class Scheduler:\n    def route(self, r, c): return [0] * 100000\n"
    "    def priority(self, r, i, now): return 0.0\n",
    "patches_its_side": PATCHES_ITS_SIDE,
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_garbage_and_tampered_answers_are_rejected(public, case, tmp_path):
    path = tmp_path / f"{case}.py"
    path.write_text(GARBAGE[case])
    with pytest.raises(InvalidProgram, match="must return|something else"):
        score_quick(public, path)


def test_a_scheduler_that_raises_is_rejected_with_its_traceback(public, tmp_path):
    path = tmp_path / "raises.py"
    path.write_text("class Scheduler:\n    def route(self, r, c):\n        return {}['missing']\n"
                    "    def priority(self, r, i, now): return 0.0\n")
    with pytest.raises(InvalidProgram, match="(?s)KeyError.*route"):
        score_quick(public, path)


LEAKS = '''
SECRETS = {secrets!r}


class Scheduler:
    def __init__(self):
        self.turn = -1
        for path in SECRETS:
            try:
                open(path).read(10)
            except OSError:
                continue
            raise RuntimeError("read " + path)

    def route(self, request, cluster):
        self.turn = (self.turn + 1) % len(cluster.instances)
        return self.turn

    def priority(self, request, instance, now):
        return request.arrival_time
'''


@pytest.mark.slow
def test_in_the_sandbox_the_program_sees_neither_scenarios_nor_scorer(public, tmp_path):
    program = tmp_path / "leaks.py"
    secrets = [str(ROOT / "data" / "scenarios.json"), str(ROOT / "servesim" / "workload.py"), "/etc/shadow"]
    program.write_text(LEAKS.format(secrets=secrets))
    result = evaluate_file(PROBLEM, program)
    assert result.status == "ok", result.artifacts
    assert result.score == score(public, ROOT / "baselines" / "fcfs_round_robin.py")["score"]

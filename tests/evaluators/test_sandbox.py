"""The sandbox's contract with evaluators: statuses, artifacts, output capture, the cascade."""

from __future__ import annotations

import pytest

from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import ProblemError
from evolve.evaluators.sandbox import SandboxError

CASCADE_EVALUATOR = """\
from evolve.evaluators.contract import load_program


def evaluate_quick(program_path, split="train"):
    return {"score": float(load_program(program_path).solve(1)), "size": 1}


def evaluate(program_path, split="train"):
    return {"score": float(load_program(program_path).solve(10)), "size": 10}
"""

RAISING_EVALUATOR = """\
from evolve.evaluators.contract import InvalidProgram, StageUnavailable, load_program


def evaluate(program_path, split="train"):
    kind = load_program(program_path).KIND
    if kind == "invalid":
        raise InvalidProgram("bin 3 overflows: 12 > 10")
    if kind == "unavailable":
        raise StageUnavailable("needs a CUDA GPU")
    if kind == "nan":
        return {"score": float("nan")}
    if kind == "noscore":
        return {"quality": 1.0}
    if kind == "list":
        return [1.0]
    return {"score": 1.5, "latency": 2.0, "artifacts": {"worst_case": "trace 7"}}
"""


def program(body: str) -> str:
    return f"# EVOLVE-BLOCK-START\n{body}\n# EVOLVE-BLOCK-END\n"


def test_ok_result_separates_metrics_and_artifacts(tiny_problem, write_program):
    problem = tiny_problem(evaluator=RAISING_EVALUATOR)
    result = evaluate_file(problem, write_program(program("KIND = 'good'")))
    assert result.status == "ok" and result.score == 1.5
    assert result.metrics == {"latency": 2.0}
    assert result.artifacts == {"worst_case": "trace 7"}
    assert [s.name for s in result.stages] == ["full"] and result.stages[0].status == "ok"
    assert result.stages[0].wall_s > 0 and result.node


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("invalid", "invalid", "bin 3 overflows: 12 > 10"),
        ("unavailable", "unavailable", "needs a CUDA GPU"),
        ("nan", "error", "no finite 'score'"),
        ("noscore", "error", "no finite 'score'"),
        ("list", "error", "not a dict"),
    ],
)
def test_evaluator_outcomes_map_to_statuses(tiny_problem, write_program, kind, status, message):
    problem = tiny_problem(evaluator=RAISING_EVALUATOR)
    result = evaluate_file(problem, write_program(program(f"KIND = {kind!r}")))
    assert result.status == status
    assert result.score is None
    assert message in result.artifacts["error"]


def test_candidate_exception_gives_error_with_traceback_tail(tiny_problem, write_program):
    problem = tiny_problem()
    result = evaluate_file(problem, write_program(program("def solve(x):\n    return {}['missing']")))
    assert result.status == "error"
    assert "KeyError: 'missing'" in result.artifacts["error"]
    assert "Traceback" in result.artifacts["error"]


def test_stdout_and_stderr_tails_are_kept_and_capped(tiny_problem, write_program):
    problem = tiny_problem(limits={"max_output_kb": 1})
    code = program(
        "import sys\n"
        "def solve(x):\n"
        "    print('head-line')\n"
        "    print('y' * 3000)\n"
        "    print('tail-line')\n"
        "    print('warned', file=sys.stderr)\n"
        "    return x"
    )
    result = evaluate_file(problem, write_program(code))
    assert result.status == "ok"
    assert result.artifacts["stdout"].endswith("tail-line\n")
    assert "head-line" not in result.artifacts["stdout"]
    assert len(result.artifacts["stdout"]) == 1024
    assert result.artifacts["stderr"] == "warned\n"


def test_candidate_sees_a_fresh_home_and_scrubbed_environment(tiny_problem, write_program, monkeypatch):
    monkeypatch.setenv("EVOLVE_TEST_VISIBLE", "no")
    evaluator = """\
    import os
    from evolve.evaluators.contract import load_program

    def evaluate(program_path, split="train"):
        load_program(program_path)
        return {"score": 1.0, "artifacts": {"env": repr(sorted(os.environ)), "cwd": os.getcwd(),
                                            "home": os.environ["HOME"], "program": program_path}}
    """
    result = evaluate_file(tiny_problem(evaluator=evaluator), write_program(program("x = 1")))
    assert result.status == "ok"
    assert "EVOLVE_TEST_VISIBLE" not in result.artifacts["env"]
    assert result.artifacts["cwd"] == result.artifacts["home"]
    assert result.artifacts["program"].startswith(result.artifacts["cwd"])


def test_split_reaches_the_evaluator_and_unknown_splits_are_refused(tiny_problem, write_program):
    problem = tiny_problem()
    path = write_program(program("def solve(x):\n    return x"))
    assert evaluate_file(problem, path, split="test").metrics["split_seen"] == "test"
    assert evaluate_file(problem, path, split="train").score == 2.0
    with pytest.raises(ProblemError, match="no split 'validation'"):
        evaluate_file(problem, path, split="validation")


def test_evaluator_that_fails_to_import_raises_sandbox_error(tiny_problem, write_program):
    problem = tiny_problem(evaluator="import not_a_module_anywhere\n")
    with pytest.raises(SandboxError, match="not_a_module_anywhere"):
        evaluate_file(problem, write_program(program("x = 1")))


def test_cascade_runs_full_stage_above_threshold(tiny_problem, write_program):
    problem = tiny_problem(evaluator=CASCADE_EVALUATOR, cascade_threshold=0.5)
    result = evaluate_file(problem, write_program(program("def solve(n):\n    return n")))
    assert result.status == "ok" and result.score == 10.0
    assert result.metrics["quick_score"] == 1.0 and result.metrics["quick_size"] == 1
    assert [(s.name, s.status) for s in result.stages] == [("quick", "ok"), ("full", "ok")]


def test_cascade_culls_below_threshold(tiny_problem, write_program):
    problem = tiny_problem(evaluator=CASCADE_EVALUATOR, cascade_threshold=0.5)
    result = evaluate_file(problem, write_program(program("def solve(n):\n    return 0.1 * n")))
    assert result.status == "culled" and result.score is None
    assert result.metrics["quick_score"] == pytest.approx(0.1)
    assert "below the threshold 0.5" in result.artifacts["cascade"]
    assert [(s.name, s.status) for s in result.stages] == [("quick", "ok")]


def test_cascade_stops_when_quick_stage_fails(tiny_problem, write_program):
    problem = tiny_problem(evaluator=CASCADE_EVALUATOR)
    result = evaluate_file(problem, write_program(program("def solve(n):\n    raise ValueError('early')")))
    assert result.status == "error" and "ValueError: early" in result.artifacts["error"]
    assert [(s.name, s.status) for s in result.stages] == [("quick", "error")]


def test_a_split_may_have_its_own_wall_clock(tiny_problem):
    """A leaderboard split with a long budget does not lengthen the clock of the evolution splits."""
    from evolve.evaluators.sandbox import Sandbox

    slow = "import time\ndef evaluate(path, split='train'):\n    time.sleep(1.5)\n    return {'score': 1.0}\n"
    problem = tiny_problem(evaluator=slow, limits={"timeout_s": 1, "split_timeout_s": {"test": 5}})
    with Sandbox.for_problem(problem, problem.root) as sandbox:
        train = sandbox.run("full", problem.seed_code, "train")
        test = sandbox.run("full", problem.seed_code, "test")
    assert train.status == "timeout" and "after 1 s" in train.error
    assert test.status == "ok"

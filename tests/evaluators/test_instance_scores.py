"""Per-instance scores beside the score: carried through the sandbox, malformed ones refused."""

from __future__ import annotations

import pytest

from evolve.evaluators.pool import evaluate_file

EVALUATOR = """\
from evolve.evaluators.contract import load_program


def evaluate(program_path, split="train"):
    return {"score": 1.0, "instances": load_program(program_path).INSTANCES}
"""


def program(body: str) -> str:
    return f"# EVOLVE-BLOCK-START\n{body}\n# EVOLVE-BLOCK-END\n"


def test_instance_scores_come_back_with_the_result(tiny_problem, write_program):
    problem = tiny_problem(evaluator=EVALUATOR)
    result = evaluate_file(problem, write_program(program("INSTANCES = {'a': 0.5, 'b': -2}")))
    assert result.status == "ok"
    assert result.metrics["instances"] == {"a": 0.5, "b": -2}


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        ("[0.5, 1.0]", "must be a dict"),
        ("{'a': float('nan')}", "finite numbers"),
        ("{'a': 'high'}", "finite numbers"),
        ("{'a': True}", "finite numbers"),
        ("{3: 1.0}", "finite numbers"),
    ],
)
def test_malformed_instance_scores_make_an_error(tiny_problem, write_program, instances, message):
    problem = tiny_problem(evaluator=EVALUATOR)
    result = evaluate_file(problem, write_program(program(f"INSTANCES = {instances}")))
    assert result.status == "error"
    assert message in (result.stages[0].error or "")

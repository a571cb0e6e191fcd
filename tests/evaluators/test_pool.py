"""EvaluationPool on a private local Ray: concurrency, shipped problem files, splits, GPU fallback."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from evolve.evaluators.pool import EvaluationPool
from evolve.evaluators.problem import ProblemError

SIMULATOR_EVALUATOR = """\
from evolve.evaluators.contract import StageUnavailable, load_program
import simulator


def evaluate(program_path, split="train"):
    program = load_program(program_path)
    if getattr(program, "WANTS_GPU", False):
        raise StageUnavailable("needs a CUDA GPU")
    return {"score": simulator.run(program.solve, split), "artifacts": {"evaluator_file": __file__}}
"""

SIMULATOR = """\
def run(policy, split):
    return float(sum(policy(x) for x in (range(3) if split == "train" else range(5))))
"""


def candidate(offset: int) -> str:
    return f"# EVOLVE-BLOCK-START\ndef solve(x):\n    return x + {offset}\n# EVOLVE-BLOCK-END\n"


@pytest.mark.slow
def test_pool_evaluates_concurrently_from_shipped_files(tiny_problem, ray_local):
    problem = tiny_problem(evaluator=SIMULATOR_EVALUATOR, seed=candidate(0), files={"simulator.py": SIMULATOR})
    pool = EvaluationPool(problem, slots=2)
    try:
        moved = problem.root.with_name(problem.root.name + "-moved")
        shutil.move(problem.root, moved)  # workers must not need the driver's copy

        async def run_all():
            first = await asyncio.gather(*(pool.evaluate(candidate(i)) for i in range(5)))
            held_out = await pool.evaluate(candidate(1), split="test")
            return first, held_out

        results, held_out = asyncio.run(run_all())
        assert [r.score for r in results] == [3.0 + 3 * i for i in range(5)]
        assert all(r.status == "ok" and r.node in pool.nodes() for r in results)
        assert not results[0].artifacts["evaluator_file"].startswith(str(problem.root))
        assert held_out.score == 15.0
        again = asyncio.run(pool.evaluate(candidate(2)))  # a second event loop reuses the pool
        assert again.score == 9.0
        with pytest.raises(ProblemError, match="no split 'validation'"):
            asyncio.run(pool.evaluate(candidate(0), split="validation"))
        assert len(pool.nodes()) == 2
    finally:
        pool.close()


@pytest.mark.slow
def test_gpu_problem_without_gpus_still_runs_and_reports_unavailable(tiny_problem, ray_local):
    problem = tiny_problem(evaluator=SIMULATOR_EVALUATOR, seed=candidate(0), files={"simulator.py": SIMULATOR},
                           limits={"gpus": 1})
    pool = EvaluationPool(problem, slots=1)
    try:
        code = candidate(0).replace("# EVOLVE-BLOCK-END", "WANTS_GPU = True\n# EVOLVE-BLOCK-END")
        result = asyncio.run(pool.evaluate(code))
        assert result.status == "unavailable"
        assert result.artifacts["error"] == "needs a CUDA GPU"
    finally:
        pool.close()

"""LocalFirstPool: the first evaluations go through a local sandbox while the Ray pool starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evolve.evaluators.local_slot import LocalSlot
from evolve.evaluators.pool import LocalFirstPool
from evolve.evaluators.problem import load_problem

INSTANT = Path(__file__).resolve().parents[2] / "benchmarks" / "problems" / "instant"


@pytest.mark.slow
def test_the_seed_begun_at_once_is_scored_locally_and_the_ray_pool_takes_over_when_ready(tmp_path: Path) -> None:
    problem = load_problem(str(INSTANT))

    async def go() -> tuple[str, str, int, float | None, float, float]:
        pool = LocalFirstPool(problem, slots=1)
        try:
            pool.begin(problem.seed_code)
            seed = await pool.evaluate(problem.seed_code)
            local_count = pool.local_evaluations
            await pool.started()
            later = await pool.evaluate(problem.seed_code.replace("return", "return 1 +", 1))
            return seed.node, later.node, local_count, pool.ready_after_s, seed.score, later.score
        finally:
            pool.close()

    seed_node, later_node, local_count, ready_after, seed_score, later_score = asyncio.run(go())
    assert seed_node.startswith("local@") and local_count == 1  # a private Ray takes seconds to start
    assert not later_node.startswith("local@") and "@" in later_node  # a Ray actor's node id @ ip
    assert ready_after is not None and ready_after > 0
    assert later_score == seed_score + 1  # the changed program, scored on Ray


def test_a_ray_pool_that_cannot_start_is_the_evaluations_error_once_the_run_abandons_them() -> None:
    """An evaluation that arrives after the failure waits for the run to stop (it is the
    run's failure, not a candidate's), and gets the start error when the run abandons it."""
    problem = load_problem(str(INSTANT))

    async def go() -> None:
        pool = LocalFirstPool(problem, slots=0)
        try:
            with pytest.raises(ValueError, match="slots must be at least 1"):
                await pool.started()
            waiting = asyncio.create_task(pool.evaluate(problem.seed_code))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            pool.abandon(pool.start_error())
            with pytest.raises(ValueError) as raised:
                await waiting
            assert raised.value is pool.start_error()
            with pytest.raises(ValueError):
                await pool.evaluate(problem.seed_code)  # after the run abandoned them: at once
        finally:
            pool.close()

    asyncio.run(go())


@pytest.mark.slow
def test_a_slot_started_before_the_pool_scores_the_seed_it_began_and_the_pool_takes_it_over() -> None:
    """`evolve run` begins the seed on a slot before it imports Ray; the pool adopts that evaluation."""
    problem = load_problem(str(INSTANT))
    slot = LocalSlot(problem)
    slot.begin(problem.seed_code, "train")

    async def go() -> tuple[str, int, bool, float | None]:
        pool = LocalFirstPool(problem, slots=1, local=slot)
        try:
            pool.begin(problem.seed_code)
            seed = await pool.evaluate(problem.seed_code)
            return seed.node, pool.local_evaluations, slot.has_begun(problem.seed_code, "train"), seed.score
        finally:
            pool.close()

    node, local_count, still_begun, score = asyncio.run(go())
    assert node.startswith("local@") and local_count == 1
    assert not still_begun  # the pool took the evaluation the slot had begun, not a second one
    assert score == -89.0
    assert not slot.usable()  # the pool stopped the slot it took over

"""A fault in the framework's own handling of one candidate is that candidate's row, not the run's end."""

from __future__ import annotations

import asyncio

from tests.evolve.test_engine import ScriptedMutator, _rows, evaluator, make_engine, problem, variant  # noqa: F401 (fixtures)


class FlakyEvaluator:
    """Delegates to the real sandbox, but the pool breaks (as a framework bug would) on one program."""

    def __init__(self, inner, poisoned: str) -> None:
        self.inner, self.poisoned = inner, poisoned

    async def evaluate(self, code: str, split: str = "train"):
        if code == self.poisoned:
            raise RuntimeError("the pool lost its bookkeeping")
        return await self.inner.evaluate(code, split)


def test_a_framework_fault_is_recorded_on_its_row_and_the_run_goes_on(problem, evaluator, tmp_path):  # noqa: F811
    poisoned = variant(4.0)
    codes = [variant(2.0), poisoned, variant(6.0)]
    engine, db, run = make_engine(problem, FlakyEvaluator(evaluator, poisoned), tmp_path, ScriptedMutator(codes),
                                  iterations=3, max_in_flight=1)
    outcome = asyncio.run(engine.run())
    assert outcome.stop_reason == "iterations"
    rows = _rows(db, run.id)
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "ok"]
    assert "the framework failed while handling this candidate: RuntimeError" in rows[2]["error"]

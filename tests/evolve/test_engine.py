"""The engine's loop, with a real sandbox and a real SQLite database (no Ray: that is test_cli)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evolve.config import build_config
from evolve.database import ProgramDatabase
from evolve.edit_repairs import REPAIRS, REPAIRS_ARTIFACT
from evolve.edits import apply_diff
from evolve.engine import Engine, SeedFailed, candidate_seed, mutation_request
from evolve.mutation import MutationRequest, Mutator, Proposal
from evolve.offline import OfflineMutator
from evolve.prompts import render_messages

EVALUATOR = """
from evolve.evaluators.contract import InvalidProgram, load_program

def evaluate(program_path, split="train"):
    value = load_program(program_path).f(3.0)
    if value != value:
        raise InvalidProgram("f returned NaN")
    return {"score": -abs(value - 10.0), "value": value}
"""
SEED = """
# EVOLVE-BLOCK-START
def f(x):
    return 1.0 * x + 0.5
# EVOLVE-BLOCK-END
"""


class ScriptedMutator(Mutator):
    """Returns the given programs in order (None: a failed edit)."""

    name = "scripted"

    def __init__(self, codes: list[str | None]) -> None:
        self.codes = list(codes)

    async def propose(self, request: MutationRequest) -> Proposal:
        code = self.codes.pop(0) if self.codes else None
        return Proposal(code=code, origin="diff", error=None if code else "SEARCH text not found")


@pytest.fixture
def problem(tiny_problem):
    return tiny_problem(evaluator=EVALUATOR, seed=SEED, limits={"timeout_s": 5, "memory_mb": 512})


@pytest.fixture
def evaluator(problem, sandbox_pool):
    return sandbox_pool(problem)


def make_engine(problem, evaluator, tmp_path: Path, mutator, **config):
    db = ProgramDatabase(f"sqlite:///{tmp_path}/runs.db")
    settings = build_config(cli_overrides=config)
    run = db.create_run(None, problem.name, settings.model_dump(mode="json"), settings.seed)
    archive = db.archive(run.id, settings.archive, settings.seed)
    return Engine(problem=problem, config=settings, archive=archive, mutator=mutator, pool=evaluator), db, run


def variant(constant: float) -> str:
    return SEED.replace("0.5", repr(constant))


def test_every_attempt_becomes_a_row_and_failures_never_crash_the_run(problem, evaluator, tmp_path):
    hostile = SEED.replace("return 1.0 * x + 0.5", "import os\n    os._exit(3)")
    codes = [variant(1.0), None, variant(1.0), hostile, SEED.replace("1.0 * x", "float('nan') * x"), variant(7.0)]
    engine, db, run = make_engine(problem, evaluator, tmp_path, ScriptedMutator(codes), iterations=6, max_in_flight=1)
    outcome = asyncio.run(engine.run())
    assert outcome.stop_reason == "iterations"
    archive = db.archive(run.id, engine.config.archive, engine.config.seed)
    counts = archive.counts()
    assert counts["total"] == 6
    statuses = [row["status"] for row in _rows(db, run.id)]
    assert statuses[0] == "ok"  # the seed
    assert sorted(statuses[1:]) == sorted(["ok", "edit_failed", "duplicate", "error", "invalid", "ok"])
    assert evaluator.calls == 1 + 4  # seed + four evaluated; the duplicate and failed edit cost nothing
    assert outcome.best.score == pytest.approx(-abs(3.0 + 7.0 - 10.0))


def _rows(db, run_id):
    from evolve.database.queries import export_programs

    return list(export_programs(db, run_id))


def test_target_score_stops_the_run(problem, evaluator, tmp_path):
    engine, _, _ = make_engine(problem, evaluator, tmp_path, ScriptedMutator([variant(5.0), variant(6.0), variant(6.5)]),
                               iterations=50, max_in_flight=1, target_score=-0.6)
    outcome = asyncio.run(engine.run())
    assert outcome.stop_reason == "target_score"
    assert outcome.progress.done == 3


def test_wall_time_stops_the_run(problem, evaluator, tmp_path):
    engine, _, _ = make_engine(problem, evaluator, tmp_path, OfflineMutator(), iterations=10_000, max_in_flight=2,
                               max_wall_s=3)
    outcome = asyncio.run(engine.run())
    assert outcome.stop_reason == "wall_time"
    assert 0 < outcome.progress.done < 10_000


def test_budget_stops_before_the_first_call_that_could_exceed_it(problem, evaluator, tmp_path):
    class Priced(ScriptedMutator):
        def max_call_cost_usd(self, request=None) -> float:
            return 0.4

    engine, _, _ = make_engine(problem, evaluator, tmp_path, Priced([variant(2.0)] * 5), iterations=5,
                               max_in_flight=1, budget_usd=0.3)
    outcome = asyncio.run(engine.run())
    assert outcome.stop_reason == "budget" and outcome.progress.done == 0


def test_graceful_stop_finishes_in_flight_work(problem, evaluator, tmp_path):
    engine, db, run = make_engine(problem, evaluator, tmp_path, OfflineMutator(), iterations=1000, max_in_flight=2)

    async def go():
        task = asyncio.create_task(engine.run())
        while engine.progress.done < 3:
            await asyncio.sleep(0.05)
        engine.request_stop()
        return await task

    outcome = asyncio.run(go())
    assert outcome.stop_reason == "interrupted"
    assert engine.progress.in_flight == 0
    assert len(_rows(db, run.id)) == outcome.progress.done + 1


def test_second_stop_cancels_in_flight_and_records_them(problem, evaluator, tmp_path):
    class Slow(ScriptedMutator):
        async def propose(self, request):
            await asyncio.sleep(30)
            return await super().propose(request)

    engine, db, run = make_engine(problem, evaluator, tmp_path, Slow([]), iterations=10, max_in_flight=3)

    async def go():
        task = asyncio.create_task(engine.run())
        while engine.progress.in_flight < 3:
            await asyncio.sleep(0.05)
        engine.request_stop()
        engine.request_stop()
        return await task

    outcome = asyncio.run(go())
    rows = _rows(db, run.id)
    assert outcome.stop_reason == "interrupted"
    assert [r["status"] for r in rows[1:]] == ["cancelled"] * 3


def test_a_broken_seed_is_a_clear_error(tiny_problem, sandbox_pool, tmp_path):
    broken = tiny_problem(evaluator=EVALUATOR, seed=SEED.replace("1.0 * x", "undefined_name * x"))
    engine, _, _ = make_engine(broken, sandbox_pool(broken), tmp_path, OfflineMutator(), iterations=3)
    with pytest.raises(SeedFailed, match="undefined_name"):
        asyncio.run(engine.run())


# Circle packing's shape: the quick stage packs few circles and the seed's sum of radii
# falls below the cascade threshold, so the seed itself is culled.
PACKING_EVALUATOR = """
from evolve.evaluators.contract import load_program

def _radii(program_path, n):
    return sum(load_program(program_path).radius(i) for i in range(n))

def evaluate_quick(program_path, split="train"):
    return {"score": _radii(program_path, 4) / 4, "circles": 4}

def evaluate(program_path, split="train"):
    return {"score": _radii(program_path, 26) / 26, "circles": 26, "density": _radii(program_path, 26)}
"""
PACKING_SEED = """
# EVOLVE-BLOCK-START
def radius(i):
    return 0.364
# EVOLVE-BLOCK-END
"""


def test_a_seed_culled_by_the_cascade_is_kept_with_its_quick_score_and_the_run_goes_on(tiny_problem, sandbox_pool,
                                                                                     tmp_path):
    problem = tiny_problem(evaluator=PACKING_EVALUATOR, seed=PACKING_SEED, cascade_threshold=0.5)
    evaluator = sandbox_pool(problem, threshold=problem.cascade_threshold)
    children = [PACKING_SEED.replace("0.364", value) for value in ("0.6", "0.2", "0.8")]
    engine, db, run = make_engine(problem, evaluator, tmp_path, ScriptedMutator(children), iterations=3,
                                 max_in_flight=1, archive={"features": [{"name": "density"}, {"name": "length"}]})
    outcome = asyncio.run(engine.run())
    assert outcome.stop_reason == "iterations"
    seed = outcome.seed_program
    assert seed.status == "ok" and seed.score == pytest.approx(0.364)
    assert seed.metrics["circles"] == 4 and seed.metrics["quick_score"] == pytest.approx(0.364)
    assert "below the threshold 0.5" in seed.artifacts["cascade"] and "kept" in seed.artifacts["cascade"]
    assert "placed at 0 on density, which the quick stage does not measure" in seed.artifacts["cascade"]
    rows = _rows(db, run.id)
    assert [(r["status"], r["score"]) for r in rows[1:]] == [("ok", pytest.approx(0.6)), ("culled", None),
                                                             ("ok", pytest.approx(0.8))]
    assert outcome.best.score == pytest.approx(0.8)


class RepliedMutator(Mutator):
    """Applies a model's reply to the parent with the real edit code, as the LLM mutator does."""

    name = "replied"

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def propose(self, request: MutationRequest) -> Proposal:
        result = apply_diff(request.parent.code, self.reply)
        return Proposal(result.code, "diff", diff=result.diff, repairs=list(result.repairs))


def test_the_repairs_an_edit_needed_are_on_its_row_and_in_the_next_prompt(problem, evaluator, tmp_path):
    reply = "<<<<<<< SEARCH\r\n    return 1.0 * x + 0.5\r\n=======\r\n    return 1.0 * x + 4.0\r\n>>>>>>> REPLACE\r\n"
    engine, db, run = make_engine(problem, evaluator, tmp_path, RepliedMutator(reply), iterations=1)
    outcome = asyncio.run(engine.run())
    child = _rows(db, run.id)[1]
    assert child["status"] == "ok" and "1.0 * x + 4.0" in child["code"]
    assert child["artifacts"][REPAIRS_ARTIFACT] == "crlf"
    sample = engine.archive.sample_for(outcome.best.id)
    _, user = render_messages(mutation_request(problem, sample, 0), "diff")
    assert f"needed repairs before it applied: {REPAIRS['crlf']}" in user["content"]


def test_candidate_seeds_depend_only_on_run_seed_and_index():
    assert candidate_seed(1, 5) == candidate_seed(1, 5)
    assert len({candidate_seed(1, i) for i in range(100)}) == 100
    assert candidate_seed(1, 5) != candidate_seed(2, 5)

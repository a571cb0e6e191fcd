"""A budget on an offline run: the offline mutator pays for nothing, so ``--budget`` is
accepted and never stops the run."""

from __future__ import annotations

import asyncio

from evolve.database.queries import export_programs
from evolve.mutation import CHANGES_ARTIFACT
from evolve.offline import OfflineMutator
from tests.evolve.test_engine import evaluator, make_engine, problem  # noqa: F401  (fixtures)


def test_an_offline_run_with_a_budget_runs_all_its_candidates_for_nothing(problem, evaluator, tmp_path):  # noqa: F811
    engine, db, run = make_engine(problem, evaluator, tmp_path, OfflineMutator(), iterations=6, max_in_flight=2,
                                  budget_usd=0.01)
    outcome = asyncio.run(engine.run())
    assert outcome.stop_reason == "iterations" and outcome.progress.done == 6
    assert outcome.progress.spent_usd == 0.0
    children = [row for row in export_programs(db, run.id) if row["origin"] == "offline" and row["status"] == "ok"]
    assert children and all(row["artifacts"][CHANGES_ARTIFACT] for row in children)  # what the operators did

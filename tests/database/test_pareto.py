"""Pareto parents: programs best on some instance become parents with ``archive.pareto_share``."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from evolve.database import ArchiveSettings, FeatureDimension, NewProgram
from evolve.database.pareto import InstanceFront, instance_scores, without_instances
from evolve.database.queries import program_detail

SEED = "def solve(x):\n    return x\n"
# One cell: only the best program on average is an elite, so the island's own selection
# can never offer the specialist; only the front can.
ONE_CELL = [FeatureDimension(name="length", bins=1, range=(0.0, 1e6))]


def test_front_counts_each_programs_wins_and_ties():
    front = InstanceFront()
    front.add(1, {"a": 1.0, "b": 1.0, "c": 1.0})
    front.add(2, {"a": 2.0, "b": 0.0, "c": 1.0})
    assert front.wins() == {1: 2, 2: 2}  # 1 best on b, tied on c; 2 best on a, tied on c
    front.add(3, {"a": 0.0, "b": 5.0, "c": 5.0})
    assert front.wins() == {2: 1, 3: 2}  # 1 beaten everywhere: out of the front


def test_front_draws_with_weight_by_wins():
    front = InstanceFront()
    front.add(1, {"a": 1.0, "b": 1.0, "c": 1.0})
    front.add(2, {"a": 0.0, "b": 0.0, "c": 0.0, "d": 1.0})
    rng = random.Random(0)
    drawn = Counter(front.draw(rng) for _ in range(4000))
    assert drawn[1] / 4000 == pytest.approx(0.75, abs=0.03)


def test_only_finite_numbers_count_as_instance_scores():
    assert instance_scores({"instances": {"a": 1, "b": float("nan"), "c": None, "d": True}}) == {"a": 1.0}
    assert instance_scores({"instances": [1.0]}) is None
    assert instance_scores({"score_like": 1.0}) is None
    metrics = {"x": 1.0, "instances": {"a": 1.0}, "quick_instances": {"a": 1.0}}
    assert without_instances(metrics) == {"x": 1.0}


def _archive(db, share: float, seed: int = 5):
    run = db.create_run(None, "toy", {}, seed)
    settings = ArchiveSettings(num_islands=1, exploit_ratio=1.0, explore_ratio=0.0, pareto_share=share,
                               features=ONE_CELL)
    return run, settings


def _fill(archive) -> tuple[int, int]:
    """The seed; an all-rounder, best on average; a specialist, best on instance "c" only."""
    archive.record(NewProgram(None, 0, 0, SEED, "seed", "ok", score=0.0,
                              metrics={"instances": {"a": 0.0, "b": 0.0, "c": 0.0}}))
    rounder = archive.record(NewProgram(1, 0, 1, SEED + "ROUND = 1\n", "diff", "ok", score=2.0,
                                        metrics={"instances": {"a": 3.0, "b": 3.0, "c": 0.0}}))
    special = archive.record(NewProgram(1, 0, 1, SEED + "SPECIAL = 1\n", "diff", "ok", score=1.0,
                                        metrics={"instances": {"a": 0.0, "b": 0.0, "c": 3.0}}))
    return rounder.id, special.id


def test_pareto_share_picks_a_specialist_that_is_not_best_on_average(db):
    run, settings = _archive(db, share=1.0)
    archive = db.archive(run.id, settings, run.seed)
    rounder, special = _fill(archive)
    assert archive.best().id == rounder
    parents = Counter(archive.sample().parent.id for _ in range(300))
    assert set(parents) == {rounder, special}
    assert parents[rounder] / 300 == pytest.approx(2 / 3, abs=0.1)  # wins a and b; the specialist c


def test_share_zero_never_picks_the_specialist(db):
    run, settings = _archive(db, share=0.0)
    archive = db.archive(run.id, settings, run.seed)
    rounder, special = _fill(archive)
    assert {archive.sample().parent.id for _ in range(300)} == {rounder}


def test_instance_scores_are_stored_apart_from_the_metrics(db):
    run, settings = _archive(db, share=0.5)
    archive = db.archive(run.id, settings, run.seed)
    _, special = _fill(archive)
    detail = program_detail(db, special)
    assert "instances" not in detail["metrics"]
    assert detail["instances"] == {"a": 0.0, "b": 0.0, "c": 3.0}


def test_the_front_survives_resume(db):
    run, settings = _archive(db, share=0.5)
    live = db.archive(run.id, settings, run.seed)
    rounder, special = _fill(live)
    resumed = db.archive(run.id, settings, run.seed)
    drawn = [resumed.sample().parent.id for _ in range(40)]
    assert drawn == [live.sample().parent.id for _ in range(40)]
    assert special in drawn  # rebuilt from the rows: the specialist is still offered


def test_a_migrant_carries_its_instance_scores_to_the_next_island(db):
    run = db.create_run(None, "toy", {}, 5)
    settings = ArchiveSettings(num_islands=2, migration_interval=1, migration_rate=1.0, exploit_ratio=1.0,
                               explore_ratio=0.0, pareto_share=1.0, features=ONE_CELL)
    archive = db.archive(run.id, settings, run.seed)
    archive.record(NewProgram(None, 0, 0, SEED, "seed", "ok", score=0.0, metrics={"instances": {"a": 0.0}}))
    strong = archive.record(NewProgram(1, 0, 1, SEED + "STRONG = 1\n", "diff", "ok", score=2.0,
                                       metrics={"instances": {"a": 5.0}}))
    archive.record(NewProgram(1, 1, 1, SEED + "WEAK = 1\n", "diff", "ok", score=0.5, metrics={"instances": {"a": 1.0}}))
    migrant = archive.state()["islands"][1]["best"]
    detail = program_detail(db, migrant["id"])
    assert (detail["origin"], detail["parent_id"], detail["instances"]) == ("migrant", strong.id, {"a": 5.0})
    parents = {archive.sample().parent.id for _ in range(20)}  # both islands: their fronts' bests only
    assert parents == {strong.id, migrant["id"]}

import random

import pytest

from evolve.config import ModelSettings
from evolve.ensemble import EnsembleError, ModelEnsemble


def models(*specs: tuple[str, float]) -> list[ModelSettings]:
    return [ModelSettings(name=name, weight=weight) for name, weight in specs]


def test_weighted_choice_follows_the_weights():
    ensemble = ModelEnsemble(models(("big", 3.0), ("small", 1.0)))
    rng = random.Random(0)
    picks = [ensemble.choose(rng).name for _ in range(4000)]
    assert picks.count("big") / len(picks) == pytest.approx(0.75, abs=0.03)


def test_bandit_tries_every_model_first():
    ensemble = ModelEnsemble(models(("a", 1.0), ("b", 1.0), ("c", 1.0)), bandit=True)
    rng = random.Random(0)
    assert sorted(ensemble.choose(rng).name for _ in range(3)) == ["a", "b", "c"]


def simulate(ensemble: ModelEnsemble, outcome, rounds: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    chosen = []
    for _ in range(rounds):
        name = ensemble.choose(rng).name
        improvement, cost = outcome(name, rng)
        ensemble.observe(name, improvement, cost)
        chosen.append(name)
    return chosen


def test_bandit_prefers_improvement_per_dollar():
    # Both models improve as often; "cheap" costs a tenth as much.
    ensemble = ModelEnsemble(models(("cheap", 1.0), ("pricey", 1.0)), bandit=True)
    costs = {"cheap": 0.001, "pricey": 0.01}
    chosen = simulate(ensemble, lambda name, rng: (1.0 if rng.random() < 0.5 else 0.0, costs[name]), 300)
    assert chosen.count("cheap") > 2 * chosen.count("pricey")


def test_bandit_prefers_the_model_that_improves_more_at_equal_cost():
    ensemble = ModelEnsemble(models(("good", 1.0), ("bad", 1.0)), bandit=True)
    rates = {"good": 0.6, "bad": 0.1}
    chosen = simulate(ensemble, lambda name, rng: (1.0 if rng.random() < rates[name] else -1.0, 0.01), 300)
    assert chosen.count("good") > 2 * chosen.count("bad")
    assert 0 <= ensemble.arms["bad"].reward_sum < ensemble.arms["good"].reward_sum  # losses clipped at 0


def test_bandit_keeps_exploring_the_weaker_model():
    ensemble = ModelEnsemble(models(("good", 1.0), ("bad", 1.0)), bandit=True)
    chosen = simulate(ensemble, lambda name, rng: (1.0 if name == "good" else 0.0, 0.01), 300)
    assert 3 <= chosen.count("bad") < 100


def test_state_round_trip_reproduces_the_choices():
    specs = (("a", 1.0), ("b", 2.0))
    ensemble = ModelEnsemble(models(*specs), bandit=True)
    simulate(ensemble, lambda name, rng: (rng.random(), 0.002 if name == "a" else 0.004), 50)
    restored = ModelEnsemble(models(*specs), bandit=True)
    restored.load_state(ensemble.state())
    assert restored.state() == ensemble.state()
    assert restored.ucb_scores() == ensemble.ucb_scores()
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert [ensemble.choose(rng_a).name for _ in range(20)] == [restored.choose(rng_b).name for _ in range(20)]


def test_loading_state_after_the_ensemble_changed():
    old = ModelEnsemble(models(("a", 1.0), ("gone", 1.0)), bandit=True)
    old.observe("a", 1.0, 0.01)
    old.observe("gone", 2.0, 0.01)
    new = ModelEnsemble(models(("a", 1.0), ("fresh", 1.0)), bandit=True)
    new.load_state(old.state())
    assert new.arms["a"].observed == 1
    assert new.arms["fresh"].observed == 0
    assert "gone" not in new.state()["arms"]


def test_a_state_stored_by_an_earlier_version_still_loads():
    stored = {"arms": {"a": {"selected": 3, "observed": 2, "reward_sum": 5.0, "improvement_sum": 0.5, "cost_usd": 0.2}},
              "max_reward": 4.0}
    ensemble = ModelEnsemble(models(("a", 1.0)), bandit=True)
    ensemble.load_state(stored)
    assert (ensemble.arms["a"].selected, ensemble.arms["a"].reward_sum, ensemble.max_reward) == (3, 5.0, 4.0)


def test_free_models_get_a_finite_reward():
    ensemble = ModelEnsemble(models(("local", 1.0)), bandit=True)
    ensemble.observe("local", 0.5, 0.0)
    assert 0 < ensemble.max_reward < float("inf")


def test_feedback_for_an_unknown_model_is_an_error():
    with pytest.raises(EnsembleError, match="not in the ensemble"):
        ModelEnsemble(models(("a", 1.0))).observe("b", 1.0, 0.1)


def test_empty_or_duplicate_ensembles_are_errors():
    with pytest.raises(EnsembleError, match="no models"):
        ModelEnsemble([])
    with pytest.raises(EnsembleError, match="unique"):
        ModelEnsemble(models(("a", 1.0), ("a", 2.0)))

"""Which model of the ensemble answers the next mutation.

By default a weighted random choice. With ``bandit`` on, an upper-confidence-bound
choice (as in ShinkaEvolve) whose reward is the score improvement a model's children
bring per dollar they cost, so a cheap model that helps as often as an expensive one
is asked more. The statistics are plain numbers (``state()``) that the engine stores
with the run, so a resumed run keeps what it learnt.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from evolve.config import ModelSettings

# A local model costs nothing; this floor keeps its reward per dollar finite.
COST_FLOOR_USD = 1e-6


class EnsembleError(ValueError):
    """The ensemble is empty, or feedback names a model it does not have."""


@dataclass
class ArmStats:
    selected: int = 0  # choices made, observed or still in flight
    observed: int = 0
    reward_sum: float = 0.0  # sum of max(improvement, 0) / max(cost, COST_FLOOR_USD)
    cost_usd: float = 0.0


class ModelEnsemble:
    def __init__(self, models: list[ModelSettings], bandit: bool = False, exploration: float = 1.0) -> None:
        if not models:
            raise EnsembleError("the LLM ensemble has no models; add llm.models to the run configuration")
        names = [m.name for m in models]
        if len(set(names)) != len(names):
            raise EnsembleError(f"model names must be unique in the ensemble, got {names}")
        self.models = list(models)
        self.bandit = bandit
        self.exploration = exploration
        self.arms: dict[str, ArmStats] = {m.name: ArmStats() for m in models}
        self.max_reward = 0.0

    def by_name(self, name: str) -> ModelSettings:
        for model in self.models:
            if model.name == name:
                return model
        raise EnsembleError(f"model {name!r} is not in the ensemble ({', '.join(self.arms)})")

    def choose(self, rng: random.Random) -> ModelSettings:
        model = self._ucb(rng) if self.bandit else self._weighted(rng)
        self.arms[model.name].selected += 1
        return model

    def _weighted(self, rng: random.Random) -> ModelSettings:
        return rng.choices(self.models, weights=[m.weight for m in self.models], k=1)[0]

    def ucb_scores(self) -> dict[str, float]:
        """Each model's current upper confidence bound (infinite until first chosen)."""
        total = sum(arm.selected for arm in self.arms.values())
        scores: dict[str, float] = {}
        for name, arm in self.arms.items():
            if arm.selected == 0:
                scores[name] = math.inf
                continue
            if arm.observed == 0 or self.max_reward <= 0:
                mean = 1.0 if arm.observed == 0 else 0.0
            else:
                mean = arm.reward_sum / arm.observed / self.max_reward
            scores[name] = mean + self.exploration * math.sqrt(2.0 * math.log(max(total, 1)) / arm.selected)
        return scores

    def _ucb(self, rng: random.Random) -> ModelSettings:
        scores = self.ucb_scores()
        best = max(scores.values())
        tied = [m for m in self.models if scores[m.name] == best]
        return self._weighted_among(tied, rng)

    @staticmethod
    def _weighted_among(models: list[ModelSettings], rng: random.Random) -> ModelSettings:
        return rng.choices(models, weights=[m.weight for m in models], k=1)[0]

    def observe(self, model: str, improvement: float, cost_usd: float) -> None:
        """Feedback after evaluation: score gained over the parent, and what the child cost."""
        if model not in self.arms:
            raise EnsembleError(f"feedback for model {model!r}, which is not in the ensemble ({', '.join(self.arms)})")
        arm = self.arms[model]
        reward = max(improvement, 0.0) / max(cost_usd, COST_FLOOR_USD)
        if not math.isfinite(reward):
            reward = 0.0
        arm.observed += 1
        arm.reward_sum += reward
        arm.cost_usd += cost_usd
        self.max_reward = max(self.max_reward, reward)

    def state(self) -> dict[str, Any]:
        return {"arms": {name: asdict(arm) for name, arm in self.arms.items()}, "max_reward": self.max_reward}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore statistics; models no longer in the ensemble are dropped, new ones start
        fresh, and statistics this version no longer keeps are ignored."""
        arms = state.get("arms", {})
        kept = {f.name for f in fields(ArmStats)}
        for name in self.arms:
            if name in arms:
                self.arms[name] = ArmStats(**{key: value for key, value in arms[name].items() if key in kept})
        self.max_reward = float(state.get("max_reward", 0.0))

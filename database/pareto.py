"""Programs that are best on at least one instance: GEPA's Pareto parents.

An island's elites are the best on average (per MAP-Elites cell). A program that packs one
instance better than anything else, while losing on average, holds something the others
lack; GEPA keeps such programs as parents: the union of the per-instance bests, each drawn
with weight by how many instances it is (one of) the best on. Ties all count, so a program
whose behaviour many others copy keeps winning until something beats it.

The front is an index over the rows, like the grids: rebuilt by replaying them on resume.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from evolve.database.models import Program
from evolve.statuses import Origin, Status

PROGRAMS = Program.__table__

# Where the evaluator's per-instance scores travel among the metrics until the archive
# stores them in their own column; the quick stage's copy is prefixed by the cascade.
INSTANCES_KEY = "instances"
QUICK_INSTANCES_KEY = "quick_instances"


def instance_scores(metrics: Mapping[str, Any]) -> dict[str, float] | None:
    """The finite per-instance scores among ``metrics``, or None when there are none."""
    raw = metrics.get(INSTANCES_KEY)
    if not isinstance(raw, Mapping):
        return None
    scores = {
        str(name): float(value) for name, value in raw.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }
    return scores or None


def without_instances(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics proper: per-instance scores are stored apart and are not one number."""
    if INSTANCES_KEY not in metrics and QUICK_INSTANCES_KEY not in metrics:
        return metrics
    return {k: v for k, v in metrics.items() if k not in (INSTANCES_KEY, QUICK_INSTANCES_KEY)}


class InstanceFront:
    """The per-instance bests of one island's programs, with each program's win count."""

    def __init__(self) -> None:
        self._best: dict[str, tuple[float, set[int]]] = {}
        self._wins: Counter[int] = Counter()

    def __len__(self) -> int:
        return len(self._wins)

    def add(self, program_id: int, scores: Mapping[str, float]) -> None:
        for name, score in scores.items():
            held = self._best.get(name)
            if held is None or score > held[0]:
                for beaten in held[1] if held is not None else ():
                    self._wins[beaten] -= 1
                    if not self._wins[beaten]:
                        del self._wins[beaten]
                self._best[name] = (score, {program_id})
                self._wins[program_id] += 1
            elif score == held[0] and program_id not in held[1]:
                held[1].add(program_id)
                self._wins[program_id] += 1

    def wins(self) -> dict[int, int]:
        """Program id -> how many instances it is (one of) the best on."""
        return dict(self._wins)

    def draw(self, rng: random.Random) -> int:
        """A program of the front, chosen with weight by its wins (ids in order: reproducible)."""
        if not self._wins:
            raise ValueError("the front is empty: no program of this island has per-instance scores")
        ids = sorted(self._wins)
        return rng.choices(ids, weights=[self._wins[i] for i in ids])[0]


class IslandFronts:
    """One front per island. The seed is on every island, as it is in every grid."""

    def __init__(self, islands: int) -> None:
        self._fronts = [InstanceFront() for _ in range(islands)]

    def __getitem__(self, island: int) -> InstanceFront:
        return self._fronts[island]

    def place(self, program_id: int, island: int, everywhere: bool, scores: Mapping[str, float] | None) -> None:
        if not scores:
            return
        for front in self._fronts if everywhere else [self._fronts[island % len(self._fronts)]]:
            front.add(program_id, scores)

    def load(self, conn: Connection, run_id: int) -> None:
        """Rebuild from the run's rows. The order does not matter: a front holds each
        instance's best score and every program that reaches it."""
        rows = conn.execute(
            select(PROGRAMS.c.id, PROGRAMS.c.island, PROGRAMS.c.origin, PROGRAMS.c.score, PROGRAMS.c.instances)
            .where(PROGRAMS.c.run_id == run_id, PROGRAMS.c.status == Status.OK, PROGRAMS.c.instances.is_not(None))
        )
        for program_id, island, origin, score, instances in rows:
            if score is not None and math.isfinite(score):
                self.place(program_id, island, origin == Origin.SEED, instance_scores({INSTANCES_KEY: instances}))

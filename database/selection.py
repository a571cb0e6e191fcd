"""Choosing a parent and inspirations on one island.

exploit: a size-3 tournament among the island's elites (pressure towards the best
without always taking the same one); explore: any elite, uniformly (any cell, so any
niche gets mutated); random: any successfully evaluated program of the island, elite or
not. Before these, a ``pareto_share`` of the draws takes a program that is best on some
instance (database.pareto), when the island has any. Inspirations are the island's best
elites plus elites drawn from other cells.
"""

from __future__ import annotations

import random

from evolve.database.grid import Elite, Island
from evolve.database.pareto import InstanceFront
from evolve.database.settings import ArchiveSettings

TOURNAMENT = 3


def choose_parent(
    island: Island, settings: ArchiveSettings, rng: random.Random, front: InstanceFront | None = None
) -> int:
    # A share of 0 draws nothing here, so the stream of choices is what it was without it.
    if settings.pareto_share > 0 and front and rng.random() < settings.pareto_share:
        return front.draw(rng)
    ranked = island.ranked()
    draw = rng.random()
    if draw < settings.exploit_ratio:
        return ranked[min(rng.randrange(len(ranked)) for _ in range(TOURNAMENT))].id
    if draw < settings.exploit_ratio + settings.explore_ratio:
        return ranked[rng.randrange(len(ranked))].id
    return island.ok_ids[rng.randrange(len(island.ok_ids))]


def choose_inspirations(
    island: Island, parent_id: int, settings: ArchiveSettings, rng: random.Random
) -> list[int]:
    ranked = island.ranked()
    parent_cell = next((e.cell for e in ranked if e.id == parent_id), None)
    chosen: list[Elite] = []
    for elite in ranked:
        if len(chosen) >= min(settings.num_top_programs, settings.num_inspirations):
            break
        if elite.id != parent_id:
            chosen.append(elite)
    taken = {e.id for e in chosen} | {parent_id}
    others = [e for e in ranked if e.id not in taken and e.cell != parent_cell]
    wanted = settings.num_inspirations - len(chosen)
    if wanted > 0 and others:
        chosen.extend(rng.sample(others, min(wanted, len(others))))
    return [e.id for e in chosen]

"""The population tree of a run: every program placed by generation, families together.

The layout is computed here, once, so the browser only draws: y is the generation, x the
program's rank in its generation in depth-first order of the tree (children by id), so
siblings sit side by side and a family's descendants stay under it. A migrant is a copy
in the generation of its original, joined to it by a dashed edge.
"""

from __future__ import annotations

from typing import Any

from evolve.database import queries
from evolve.statuses import Status


def _preorder(ids: list[int], parents: list[int]) -> list[int]:
    """Depth-first rank of every node (children in id order), roots first by id."""
    children: list[list[int]] = [[] for _ in ids]
    roots = []
    for index, parent in enumerate(parents):
        (children[parent] if parent >= 0 else roots).append(index)
    rank = [0] * len(ids)
    counter = 0
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        rank[node] = counter
        counter += 1
        stack.extend(reversed(children[node]))
    return rank


def _best_path(parents: list[int], best: int | None) -> list[int]:
    path = []
    while best is not None and best >= 0:
        path.append(best)
        best = parents[best]
    return path[::-1]


def tree_data(db: Any, run_id: int, best_id: int | None) -> dict[str, Any]:
    """Columns of the tree (indices, not ids, for parents) with each node's x in [0, 1]."""
    rows = queries.population(db, run_id)
    ids = [r[0] for r in rows]
    index = {pid: i for i, pid in enumerate(ids)}
    parents = [index.get(r[1], -1) if r[1] is not None else -1 for r in rows]
    generations = [r[2] for r in rows]
    rank = _preorder(ids, parents)
    by_generation: dict[int, list[int]] = {}
    for node in sorted(range(len(ids)), key=rank.__getitem__):
        by_generation.setdefault(generations[node], []).append(node)
    x = [0.0] * len(ids)
    for members in by_generation.values():
        for position, node in enumerate(members):
            x[node] = (position + 0.5) / len(members)
    statuses = sorted({r[5] for r in rows})
    origins = sorted({r[4] for r in rows})
    return {
        "run": run_id,
        "statuses": statuses,
        "origins": origins,
        "id": ids,
        "parent": parents,
        "generation": generations,
        "island": [r[3] for r in rows],
        "origin": [origins.index(r[4]) for r in rows],
        "status": [statuses.index(r[5]) for r in rows],
        "score": [r[6] if r[5] == Status.OK else None for r in rows],
        "x": [round(v, 5) for v in x],
        "best_path": _best_path(parents, index.get(best_id) if best_id is not None else None),
        "widest": max((len(m) for m in by_generation.values()), default=0),
    }

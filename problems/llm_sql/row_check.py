"""Whether an answer is the table rearranged: the only freedom a solution has.

The leaderboard's evaluator measures whatever DataFrame comes back, so dropping rows,
repeating one row 28,479 times or inventing cells all score there. Here every returned
row must be one of the table's rows, each used once, with its cells in any order (the
published GGR solution orders the fields of each row separately), and each merge group
either left as its separate cells or fused into one cell that is its members' strings
concatenated in some order (solutions fuse in the given order or in their own). Empty
cells (missing values, or the padding of a frame whose rows have different widths) add no
characters and are ignored. An integer may come back printed as a float ("7.0" for "7"):
GGR rebuilds frames from lists, and pandas then stores a column holding a missing value as
floats; the row is measured as printed, as on the leaderboard.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from evolve.evaluators.contract import InvalidProgram

MAX_FUSED_PERMUTATIONS = 720  # groups of up to 6 members are checked in every order
_INTEGRAL_FLOAT = re.compile(r"-?\d+\.0")


def canonical(cell: str) -> str:
    """A cell as compared with the table's: an integral float printed as its integer."""
    return cell[:-2] if cell.endswith(".0") and _INTEGRAL_FLOAT.fullmatch(cell) else cell


class TableRows(NamedTuple):
    """One table's rows as canonical cells: the plain ones and each merge group's members."""

    name: str
    plain: list[tuple[str, ...]]
    groups: list[tuple[tuple[str, ...], ...]]  # per row, per group: the members' cells


def _key(cells: Sequence[str]) -> str:
    return "".join(sorted("".join(cells)))


def _fits(cells: Sequence[str], plain: tuple[str, ...], groups: tuple[tuple[str, ...], ...]) -> bool:
    left = Counter(c for c in cells if c)
    left.subtract(c for c in plain if c)
    if any(n < 0 for n in left.values()):
        return False
    for members in groups:
        separate = Counter(c for c in members if c)
        if all(left[c] >= n for c, n in separate.items()):
            left.subtract(separate)
            continue
        fused = _fused_cell(left, members)
        if fused is None:
            return False
        left[fused] -= 1
    return not any(left.values())


def _fused_cell(left: Counter, members: tuple[str, ...]) -> str | None:
    length = sum(map(len, members))
    offered = {c for c, n in left.items() if n > 0 and len(c) == length}
    if not offered:
        return None
    orders = itertools.islice(itertools.permutations(members), MAX_FUSED_PERMUTATIONS)
    for order in orders:
        if (joined := "".join(order)) in offered:
            return joined
    return None


def checked_rows(table: TableRows, answer: object) -> list[str]:
    """The answer's row strings, after checking it is a rearrangement; else InvalidProgram."""
    count = len(table.plain)
    if not isinstance(answer, list) or len(answer) != count:
        size = len(answer) if isinstance(answer, list) else type(answer).__name__
        raise InvalidProgram(f"{table.name}: the answer must have the table's {count} rows, not {size}")
    buckets: dict[str, list[int]] = {}
    for index in range(count - 1, -1, -1):
        cells = table.plain[index] + tuple(c for members in table.groups[index] for c in members)
        buckets.setdefault(_key(cells), []).append(index)
    strings = []
    for position, cells in enumerate(answer):
        if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
            raise InvalidProgram(f"{table.name}: row {position} of the answer is not a list of cell strings")
        compared = [canonical(c) for c in cells]
        bucket = buckets.get(_key(compared), [])
        for slot in range(len(bucket) - 1, -1, -1):
            index = bucket[slot]
            if _fits(compared, table.plain[index], table.groups[index]):
                bucket.pop(slot)
                break
        else:
            raise InvalidProgram(
                f"{table.name}: row {position} of the answer ({''.join(cells)[:60]!r}) is not an unused row of "
                "the table with its cells rearranged"
            )
        strings.append("".join(cells))
    return strings

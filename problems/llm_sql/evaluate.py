"""Scores a table reorderer by the leaderboard's prefix hit rate (ADRS llm_sql).

The program's `Solution().solve(df, ...)` receives each table as the DataFrame the
leaderboard's evaluator hands it, with the same arguments, and returns a DataFrame; its
rows, concatenated cell by cell, are fed to an LLM one after the other, and the hit rate is
the share of characters that a prefix cache of all earlier rows would serve. The program
runs in its own process (`scoring: channel`): `table_call` builds the DataFrame there and
renders the answer's cells; here every returned row is checked to be one of the table's
rows with its cells rearranged (row_check) and the hits are recomputed (prefix_hits).
Only the solve call is timed, here, around the round trip, as the leaderboard times solve.
"""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from prefix_hits import hit_rate
from row_check import checked_rows
from tables import Table, split_tables

from evolve.evaluators.contract import InvalidProgram, wall_time_limit

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate

# The arguments the leaderboard's evaluator passes to every solve.
SETTINGS = {"early_stop": 100000, "row_stop": 4, "col_stop": 2, "one_way_dep": [],
            "distinct_value_threshold": 0.7, "parallel": True}
RUNTIME_CAP_S = 10.0  # the leaderboard's runtime component: 100 at 0 s, 0 from 10 s per table
TIME_BUDGET_S = {"train": 20.0, "test": 600.0}
MESSAGE_CHARS = 200


class SolveTimeout(InvalidProgram):
    """The program used up the split's wall-time budget."""


class TableResult(NamedTuple):
    table: Table
    hits: int
    chars: int
    solve_s: float

    @property
    def rate(self) -> float:
        return _leaderboard_rate(self.hits, self.chars)


def _leaderboard_rate(hits: int, chars: int) -> float:
    """hits / chars as the leaderboard carries it (a percentage, divided by 100 again)."""
    return (hits / chars * 100 if chars else 0.0) / 100.0


@cache
def reference_rate(split: str, name: str) -> float:
    """The table's hit rate with its columns in the original order, merged: the 0 anchor."""
    table = next(t for t in split_tables(split) if t.name == name)
    return _leaderboard_rate(*hit_rate(table.reference_rows))


def _overrun(what: str, deadline: float) -> SolveTimeout:
    return SolveTimeout(f"{what} exceeded the {max(0.0, deadline - time.perf_counter()):.1f} s left of its wall-time budget")


def _solve_table(candidate: Candidate, table: Table, deadline: float) -> TableResult:
    with wall_time_limit(deadline - time.perf_counter(), _overrun(f"loading {table.name}", deadline)):
        candidate.call("table_call:load", table.csv_text)
    started = time.perf_counter()
    with wall_time_limit(deadline - started, _overrun(f"Solution.solve on {table.name}", deadline)):
        problem = candidate.call("table_call:solve", {**SETTINGS, "col_merge": table.col_merge})
    solve_s = time.perf_counter() - started
    if problem is not None:
        raise InvalidProgram(f"{table.name}: {str(problem)[:MESSAGE_CHARS]}")
    with wall_time_limit(deadline - time.perf_counter(), _overrun(f"returning the rows of {table.name}", deadline)):
        answer = candidate.call("table_call:rows")
    strings = checked_rows(table.rows, answer)
    return TableResult(table, *hit_rate(strings), solve_s)


def leaderboard_score(rate: float, reference: float, runtime_s: float) -> tuple[float, float, float]:
    """(score, normalized hit score, runtime component), the leaderboard's 0-100 scale."""
    if reference >= 1.0:
        normalized = 100.0 if rate >= 1.0 else 0.0
    else:
        normalized = max(0.0, min(100.0, (rate - reference) / (1.0 - reference) * 100))
    runtime = (RUNTIME_CAP_S - min(RUNTIME_CAP_S, runtime_s)) / RUNTIME_CAP_S * 100
    return 0.95 * normalized + 0.05 * runtime, normalized, runtime


def _artifacts(split: str, results: list[TableResult]) -> dict[str, str]:
    lines = ["table: hit rate (with the original column order), solve seconds, "
             "characters per row served from the cache / sent"]
    for r in results:
        rows = len(r.table.rows.plain)
        lines.append(f"  {r.table.name}: {100 * r.rate:.2f} % ({100 * reference_rate(split, r.table.name):.2f} %), "
                     f"{r.solve_s:.2f} s, {r.hits / rows:.1f} / {r.chars / rows:.1f}")
    return {"tables": "\n".join(lines)}


for _table in split_tables("train"):  # built before the scorer's fork server forks evaluations
    reference_rate("train", _table.name)


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    """score = mean hit rate over the split's tables, in percent (higher is better)."""
    tables = split_tables(split)
    if not candidate.has("Solution"):
        raise InvalidProgram("the program must define class Solution with solve(self, df, ...) -> DataFrame")
    deadline = time.perf_counter() + TIME_BUDGET_S[split]
    results = [_solve_table(candidate, table, deadline) for table in tables]
    rate = sum(r.rate for r in results) / len(results)
    reference = sum(reference_rate(split, t.name) for t in tables) / len(tables)
    solve_s = sum(r.solve_s for r in results) / len(results)
    score, normalized, runtime = leaderboard_score(rate, reference, solve_s)
    metrics = {
        "score": 100 * rate,
        "hit_rate_pct": 100 * rate,
        "reference_hit_rate_pct": 100 * reference,
        "leaderboard_score": score,
        "normalized_hit_score": normalized,
        "runtime_component": runtime,
        "solve_s": solve_s,
    }
    for r in results:
        metrics[f"hit_rate_pct_{r.table.name}"] = 100 * r.rate
    metrics["artifacts"] = _artifacts(split, results)
    return metrics

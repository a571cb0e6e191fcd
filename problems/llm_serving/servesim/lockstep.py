"""Several scenarios' simulations advanced together, one decision of each per exchange.

On the scoring channel every exchange with the candidate's process is a round trip;
running the split's scenarios in lock-step sends the pending decision of every scenario
still running in one batch (`Candidate.call_methods`), so the round trips are those of
the longest scenario, not the sum over scenarios. The scenarios stay independent: each
one's decisions and answers are exactly those it would see alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .simulator import Decision, SimulationResult, Steps

Answer = Callable[[list[tuple[int, Decision]]], Sequence[Any]]


def run_lockstep(runs: list[Steps], answer: Answer) -> list[SimulationResult]:
    """Drive every run to its end; ``answer`` gets [(run index, decision)] and returns one answer each."""
    results: list[SimulationResult | None] = [None] * len(runs)
    pending: dict[int, Decision] = {}

    def advance(index: int, value: Any) -> None:
        try:
            pending[index] = runs[index].send(value)
        except StopIteration as done:
            pending.pop(index, None)
            results[index] = done.value

    for index in range(len(runs)):
        advance(index, None)
    while pending:
        batch = sorted(pending.items())
        answers = answer(batch)
        for (index, _), value in zip(batch, answers):
            advance(index, value)
    return [result for result in results if result is not None]

"""Online bin packing against a compiled priority program, over its stdin/stdout.

The packing itself lives here, in the scorer's process: each step reveals one item of
every unfinished instance in one round trip, the program answers the bin it chose, and
the choice is checked against the scorer's own remaining capacities (the bin must exist
and have room) before it is applied. The program keeps a copy of the bins only to answer;
a copy it corrupts can cost it bins, never forge them.
"""

from __future__ import annotations

import math
import time

import numpy as np
from online_packing import Instance, Packing, PackingTimeout

from evolve.evaluators.channel import Candidate
from evolve.evaluators.contract import InvalidProgram


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _ask(candidate: Candidate, lines: list[str]) -> list[str]:
    reply = candidate.call("stdio", "".join(line + "\n" for line in lines))
    answers = reply.splitlines() if isinstance(reply, str) else []
    if len(answers) != len(lines):
        raise InvalidProgram(f"the program answered {len(answers)} lines to {len(lines)} questions")
    return answers


def _bin_of(answer: str, remaining: np.ndarray, item: float, where: str) -> int:
    if answer.startswith("error"):
        raise InvalidProgram(f"{where}: {answer[5:].strip() or 'the program reported an error'}")
    try:
        index = int(answer)
    except ValueError:
        raise InvalidProgram(f"{where}: the program answered {answer[:80]!r}, not a bin index") from None
    if not 0 <= index < remaining.size or remaining[index] < item:
        raise InvalidProgram(f"{where}: the program chose bin {index}, which cannot take the item")
    return index


def pack_over_stdio(instances: list[Instance], candidate: Candidate, deadline: float = math.inf) -> list[Packing]:
    """Place every item of every instance online, one item of each instance per step."""
    remaining = [np.full(len(instance.items), instance.capacity) for instance in instances]
    opened = _ask(candidate, [f"new {k} {_number(i.capacity)} {len(i.items)}" for k, i in enumerate(instances)])
    if any(answer != "ok" for answer in opened):
        raise InvalidProgram("the program did not answer 'ok' to the start of each instance")
    items = [instance.items.tolist() for instance in instances]
    for position in range(max(len(i) for i in items)):
        active = [k for k in range(len(instances)) if position < len(items[k])]
        answers = _ask(candidate, [f"item {k} {_number(items[k][position])}" for k in active])
        for k, answer in zip(active, answers):
            item = items[k][position]
            index = _bin_of(answer, remaining[k], item, f"item {position} of {instances[k].name}")
            remaining[k][index] -= item
        if position & 255 == 0 and time.perf_counter() > deadline:
            raise PackingTimeout(f"priority too slow: time budget spent at item {position}")
    return [Packing(instance, int(np.count_nonzero(r < instance.capacity))) for instance, r in zip(instances, remaining)]

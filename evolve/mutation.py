"""The mutator contract: given a parent and its context, propose a child program.

``Mutator`` states the whole contract and its defaults once; the engine and the launcher
call its methods directly, so a mutator that leaves one out gets the stated default, never
a silent guess made by whoever calls it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evolve.database.records import LLMCallRecord, ProgramView
from evolve.statuses import Origin


@dataclass
class MutationRequest:
    problem_name: str
    description: str
    parent: ProgramView
    inspirations: list[ProgramView]
    failures: list[str]
    island: int
    generation: int
    seed: int  # per-candidate seed: a mutator's randomness must come from here alone
    templates_dir: str | None = None  # the problem folder, whose templates override prompts/
    packages: list[str] = field(default_factory=list)  # what the candidate may import besides the standard library
    language: str = "python"  # the program's language (problem.yaml candidate.language)
    memory: str | None = None  # the run's latest memory note, shown to later prompts (evolve.run_memory)


@dataclass
class Proposal:
    """A child program, or the reason there is none (``code`` is None)."""

    code: str | None
    origin: Origin  # diff | rewrite | offline
    diff: str = ""
    model: str | None = None
    error: str | None = None
    llm_calls: list[LLMCallRecord] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)  # what the edit needed to apply (evolve.edits.REPAIRS)
    changes: list[str] = field(default_factory=list)  # what was changed, in words (the offline operators say)


# The artifact under which a row keeps its proposal's ``changes``.
CHANGES_ARTIFACT = "changes"


class Mutator(abc.ABC):
    """Base of every mutator. Only ``propose`` must be written; the rest has defaults."""

    name: ClassVar[str] = "mutator"  # shown in messages and errors
    # The origin of a row recorded before the mutator answered (a cancelled candidate).
    default_origin: ClassVar[Origin] = Origin.DIFF

    @abc.abstractmethod
    async def propose(self, request: MutationRequest) -> Proposal:
        """A child of ``request.parent``, or the reason there is none. Safe to run
        concurrently; its randomness comes from ``request.seed`` alone."""

    def max_call_cost_usd(self, request: MutationRequest | None = None) -> float | None:
        """The most the next ``propose`` can cost in dollars, repair turns included; the
        engine reserves this for every candidate in flight before it starts one.

        0 means the mutator pays for nothing, so a run's budget never stops it. None (the
        default) means it cannot say, and a run with ``budget_usd`` refuses to start.
        """
        return None

    def observe(self, model: str, improvement: float, cost_usd: float) -> None:
        """Feedback once a child that ``model`` wrote is recorded: its score gain over the
        parent (0 when none) and what its calls cost. The default learns nothing."""

    def state(self) -> dict[str, Any] | None:
        """What the mutator has learnt, as JSON-able data stored with the run after every
        candidate so a resumed run keeps it; None when there is nothing to keep."""
        return None

    def load_state(self, state: dict[str, Any]) -> None:
        """Take back what ``state`` returned in an earlier session of the same run."""

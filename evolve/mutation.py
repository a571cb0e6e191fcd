"""The mutator contract: given a parent and its context, propose a child program."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from evolve.database.records import LLMCallRecord, ProgramView


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


@dataclass
class Proposal:
    """A child program, or the reason there is none (``code`` is None)."""

    code: str | None
    origin: str  # diff | rewrite | offline
    diff: str = ""
    model: str | None = None
    error: str | None = None
    llm_calls: list[LLMCallRecord] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)  # what the edit needed to apply (evolve.edits.REPAIRS)


class Mutator(Protocol):
    name: str

    async def propose(self, request: MutationRequest) -> Proposal: ...

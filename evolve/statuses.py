"""What a program row's status and origin may say, stated once for every module.

Both are ``StrEnum``s whose values are the strings stored in the database and shown in
JSON, so a member compares equal to the text a browser reads back and no stored run
changes meaning. The archive refuses a row with any other value.
"""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """How one attempt ended. Only ``OK`` may become a parent; every other one is a failure
    cause the browsers count and the prompts show back to the model."""

    OK = "ok"
    """Evaluated and scored."""
    INVALID = "invalid"
    """The evaluator rejected the answer (wrong shape, infeasible schedule)."""
    ERROR = "error"
    """The candidate or its evaluator raised, or the framework failed while handling it."""
    TIMEOUT = "timeout"
    """A stage ran past its wall clock."""
    KILLED = "killed"
    """A resource limit or a signal ended the candidate (memory, file size, CPU time)."""
    CULLED = "culled"
    """The cascade stopped it after a quick stage below the threshold; its quick score is kept."""
    UNAVAILABLE = "unavailable"
    """A stage cannot run on this machine (a kernel benchmark without a GPU): no one's fault."""
    LLM_ERROR = "llm_error"
    """Every model call of the proposal failed, so there is no code."""
    EDIT_FAILED = "edit_failed"
    """The model answered but its edit could not be applied to the parent, even after repairs."""
    DUPLICATE = "duplicate"
    """Same code as a program already in the run (or in flight): not evaluated again."""
    TOO_SIMILAR = "too_similar"
    """Too close to a program already on its island (the novelty filter): not evaluated."""
    CANCELLED = "cancelled"
    """Stopped before it finished: the user's second Ctrl-C, or the budget refused its call."""


class Origin(enum.StrEnum):
    """How a program was made."""

    SEED = "seed"
    """The problem's own initial program; given, so never counted as a candidate."""
    DIFF = "diff"
    """A model's search/replace edit of its parent."""
    REWRITE = "rewrite"
    """A model's whole new version of its parent's evolvable regions."""
    OFFLINE = "offline"
    """The offline mutator's syntax-tree or text operators; no model involved."""
    MIGRANT = "migrant"
    """A copy of another island's elite; its code is counted once, as its original."""


# What counts as a candidate, for the archive's counts, the run summary, the CLI and the UI
# alike: an attempt the search made. The seed is given, and a migrant copies a program
# already counted on its first island.
NOT_CANDIDATES = frozenset({Origin.SEED, Origin.MIGRANT})


def is_candidate(origin: str) -> bool:
    return origin not in NOT_CANDIDATES

"""The run's memory: every ``llm.memory_every`` candidates, one model call writes down what
the run has learnt, and later prompts are given the latest note.

The note is written from the program rows (``database.memory.memory_evidence``): the
changes that raised the score most with their score changes, the most frequent failure
causes, and recent changes that did not help, with the previous note to carry forward.
Its call goes through the call journal like a mutation's, so it is recorded, priced and
counted against the budget; the note is a row of its own, so a resumed run reads it back
and does not write the same note again. Offline runs have no model, so no memory.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from evolve.config import LLMSettings, ModelSettings, RunConfig
from evolve.database.call_journal import BudgetExhausted, CallJournal
from evolve.database.memory import MemoryNote, latest_memory, memory_evidence, store_memory
from evolve.prompts import render_template

log = logging.getLogger(__name__)
NOTE_CHARS = 4000  # a note longer than this is cut: it is repeated in every later prompt
SYSTEM = ("You keep the notes of an automated search that improves a program by small, measured changes. "
          "Your notes are read before every next change is proposed.")


class RunMemory:
    """Writes the notes on schedule and holds the latest; one per driver of a run."""

    def __init__(self, every: int, client: Any, model: ModelSettings, journal: CallJournal,
                 problem: Any, best_score: Callable[[], float | None] | None = None) -> None:
        self.every, self.client, self.model, self.journal, self.problem = every, client, model, journal, problem
        self.best_score = best_score or (lambda: None)
        self.latest: MemoryNote | None = latest_memory(journal.engine, journal.run_id)
        self._writing = False

    @property
    def text(self) -> str | None:
        return self.latest.text if self.latest is not None else None

    def due(self, candidates: int) -> bool:
        """Whether recording the ``candidates``-th candidate calls for a note (once per multiple)."""
        written = self.latest.candidates if self.latest is not None else 0
        return not self._writing and candidates > written and candidates % self.every == 0

    def messages(self, candidates: int) -> list[dict[str, str]]:
        evidence = memory_evidence(self.journal.engine, self.journal.run_id)
        context = {**evidence, "candidates": candidates, "best_score": self.best_score(),
                   "problem_name": self.problem.name, "description": self.problem.description.strip(),
                   "previous": self.text or ""}
        user = render_template("run_memory.j2", context, str(self.problem.root))
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

    async def write(self, candidates: int) -> MemoryNote | None:
        """One call and one row; None when the call failed or the budget refused it (the run
        goes on with the note it had)."""
        self._writing = True
        try:
            outcome = await self.client.complete(self.model, self.messages(candidates), "memory")
        except BudgetExhausted as exc:
            log.info("run memory not written at %d candidates: %s", candidates, exc)
            return None
        finally:
            self._writing = False
        if outcome.text is None or not outcome.text.strip():
            log.warning("run memory call failed at %d candidates: %s", candidates, outcome.record.error)
            return None
        text = outcome.text.strip()[:NOTE_CHARS]
        call_id = outcome.record.call_id
        if call_id is None:  # a client without the journal: the call is written here
            call_id = self.journal.record(outcome.record)
        self.latest = store_memory(self.journal.engine, self.journal.run_id, candidates, text, call_id,
                                   self.journal.outage)
        return self.latest


def memory_model(settings: LLMSettings) -> ModelSettings:
    """The ensemble's first model writes the notes: one voice across the run."""
    return settings.models[0]


def build_memory(config: RunConfig, journal: CallJournal, problem: Any,
                 best_score: Callable[[], float | None] | None = None) -> RunMemory | None:
    """The run's memory, or None when it is off (no ``llm.memory_every``, or no model)."""
    every = config.llm.memory_every
    if not every or not config.llm.models:
        return None
    from evolve.llm_client import LLMClient

    client = LLMClient(config.llm, random.Random(f"memory:{config.seed}"), journal)
    return RunMemory(every, client, memory_model(config.llm), journal, problem, best_score)

"""The novelty filter's paid calls: embeddings of programs, and the judge of borderline
pairs. Both are journaled before their request goes out and priced like chat calls, so
they are in the run's spending and its budget."""

from __future__ import annotations

import asyncio
import random
import time

import numpy as np

from evolve.config import LLMSettings, ModelSettings
from evolve.database.call_journal import CallJournal
from evolve.database.records import LLMCallRecord
from evolve.llm_client import LLMClient, attempt_outcome, call_cost_usd, endpoint_arguments, estimate_tokens, litellm

PROMPT_CHARS = 20000  # what the journal keeps of the embedded texts
JUDGE_SYSTEM = ("You compare two versions of a program that an automated search is improving. "
                "Answer SAME or DIFFERENT on the first line, then one sentence why.")


class Embedder:
    """``await embedder(texts, calls)``: one vector per text from one call (none if it failed)."""

    def __init__(self, model: ModelSettings, settings: LLMSettings, journal: CallJournal) -> None:
        self.model, self.settings, self.journal = model, settings, journal

    def _max_cost(self, texts: list[str]) -> float:
        return call_cost_usd(self.model, estimate_tokens([{"content": t} for t in texts]), 0)

    async def __call__(self, texts: list[str], calls: list[LLMCallRecord]) -> list[np.ndarray]:
        prompt = "\n\n----\n\n".join(texts)[:PROMPT_CHARS]
        call_id = self.journal.open(self.model.name, "embedding", prompt, self._max_cost(texts))
        kwargs = {"model": self.model.name, "input": texts, "timeout": self.settings.timeout_s,
                  **endpoint_arguments(self.model)}
        started = time.monotonic()
        vectors: list[np.ndarray] = []
        try:
            response = await asyncio.wait_for(litellm.aembedding(**kwargs), self.settings.timeout_s + 1.0)
        except Exception as exc:  # the candidate is then evaluated: a failed call must not reject it
            latency = time.monotonic() - started
            attempts = [attempt_outcome(exc, latency)]
            record = LLMCallRecord(self.model.name, prompt, None, latency_s=latency,
                                   error=f"{type(exc).__name__}: {exc}"[:300], kind="embedding",
                                   attempts=attempts, call_id=call_id)
        else:
            latency = time.monotonic() - started
            vectors = [np.asarray(item["embedding"], dtype=np.float64) for item in response.data]
            tokens_in = int(getattr(response.usage, "prompt_tokens", 0) or 0)
            attempts = [attempt_outcome(None, latency)]
            record = LLMCallRecord(self.model.name, prompt,
                                   f"{len(vectors)} vectors of {len(vectors[0]) if vectors else 0}",
                                   tokens_in=tokens_in, cost_usd=call_cost_usd(self.model, tokens_in, 0),
                                   latency_s=latency, kind="embedding", attempts=attempts, call_id=call_id)
        self.journal.close(call_id, record, attempts)
        calls.append(record)
        return vectors


class NoveltyJudge:
    """``await judge(original, candidate, calls)``: (meaningfully different?, the reply)."""

    def __init__(self, settings: LLMSettings, journal: CallJournal, seed: int) -> None:
        self.model = settings.models[0]
        self.client = LLMClient(settings, random.Random(f"judge:{seed}"), journal)

    async def __call__(self, original: str, candidate: str, calls: list[LLMCallRecord]) -> tuple[bool, str]:
        user = (f"# Program already evaluated\n```\n{original}```\n\n# New candidate\n```\n{candidate}```\n\n"
                "Is the new candidate meaningfully different from the program already evaluated, so that "
                "evaluating it could teach something new? Answer SAME or DIFFERENT.")
        messages = [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]
        outcome = await self.client.complete(self.model, messages, "novelty_judge")
        calls.append(outcome.record)
        reply = (outcome.text or "").strip()
        if not reply:  # no answer: the candidate gets the benefit of the doubt
            return True, reply
        return not reply.split()[0].strip("*.:").upper().startswith("SAME"), reply

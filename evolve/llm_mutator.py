"""The mutator that asks a model of the ensemble for an edit and applies it strictly.

One proposal is one model call, plus up to ``repair_turns`` calls that show the model
why its edit could not be applied. Every call, failed ones included, travels back in
``Proposal.llm_calls`` so the engine records its tokens and dollars.
"""

from __future__ import annotations

import random
from typing import Any

from evolve.config import LLMSettings
from evolve.database.call_journal import CallJournal
from evolve.database.records import LLMCallRecord
from evolve.edits import EditError, EditResult, apply_diff, apply_rewrite
from evolve.ensemble import ModelEnsemble
from evolve.llm_client import CallOutcome, LLMClient, estimate_tokens, token_prices
from evolve.mutation import MutationRequest, Mutator, Proposal
from evolve.prompts import render_messages, repair_messages
from evolve.statuses import Origin

# Prompt size assumed for the budget check before any prompt has been seen.
DEFAULT_PROMPT_TOKENS = 4000
REPAIR_TURN_TOKENS = 200  # the repair message itself, on top of the echoed reply


def apply_edit(mode: str, code: str, reply: str, language: str = "python") -> EditResult:
    return apply_diff(code, reply, language) if mode == "diff" else apply_rewrite(code, reply, language)


class LLMMutator(Mutator):
    """``propose`` is safe to run concurrently; ``observe`` feeds the bandit."""

    name = "llm"

    def __init__(self, settings: LLMSettings, rng_seed: int, journal: CallJournal | None = None) -> None:
        self.settings = settings
        self.rng_seed = rng_seed
        self.ensemble = ModelEnsemble(settings.models, bandit=settings.bandit)
        self.client = LLMClient(settings, random.Random(f"backoff:{rng_seed}"), journal)
        self._largest_prompt_tokens = 0

    def _rng(self, request: MutationRequest) -> random.Random:
        return random.Random(f"{self.rng_seed}:{request.seed}")

    async def _call(
        self, model_name: str, messages: list[dict[str, str]], kind: str, calls: list[LLMCallRecord]
    ) -> CallOutcome:
        model = self.ensemble.by_name(model_name)
        self._largest_prompt_tokens = max(self._largest_prompt_tokens, estimate_tokens(messages))
        outcome = await self.client.complete(model, messages, kind)
        self._largest_prompt_tokens = max(self._largest_prompt_tokens, outcome.record.tokens_in)
        calls.append(outcome.record)
        return outcome

    def _mode(self, rng: random.Random) -> Origin:
        return Origin.DIFF if rng.random() < self.settings.diff_ratio else Origin.REWRITE

    def prompt_for(self, request: MutationRequest) -> tuple[str, list[dict[str, str]]]:
        """The edit mode and the exact first messages ``propose`` would send for ``request``."""
        mode = self._mode(self._rng(request))
        return mode, render_messages(request, mode, system_message=self.settings.system_message)

    async def propose(self, request: MutationRequest) -> Proposal:
        rng = self._rng(request)
        mode = self._mode(rng)
        model = self.ensemble.choose(rng).name
        messages = render_messages(request, mode, system_message=self.settings.system_message)
        calls: list[LLMCallRecord] = []
        outcome = await self._call(model, messages, "mutation", calls)
        turn = 0
        while True:
            if outcome.text is None:
                return Proposal(None, mode, model=model, error=f"LLM call failed: {outcome.record.error}", llm_calls=calls)
            try:
                result = apply_edit(mode, request.parent.code, outcome.text, request.language)
            except EditError as exc:
                reason = str(exc)
                if turn >= self.settings.repair_turns:
                    suffix = f" (after {turn} repair turn(s))" if turn else ""
                    return Proposal(None, mode, model=model, error=f"edit not applied{suffix}: {reason}", llm_calls=calls)
                turn += 1
                messages = repair_messages(request, mode, messages, outcome.text, reason)
                outcome = await self._call(model, messages, "repair", calls)
                continue
            outcome.record.parsed_edit = result.parsed_edit
            return Proposal(result.code, mode, diff=result.diff, model=model, llm_calls=calls, repairs=list(result.repairs))

    def observe(self, model: str, improvement: float, cost_usd: float) -> None:
        self.ensemble.observe(model, improvement, cost_usd)

    def max_call_cost_usd(self, request: MutationRequest | None = None) -> float:
        """Assumes every reply uses all of ``max_tokens``. The prompt size is estimated
        from ``request`` when given, else from the largest prompt seen so far."""
        if request is not None:
            prompt = max(
                estimate_tokens(render_messages(request, mode, system_message=self.settings.system_message))
                for mode in (Origin.DIFF, Origin.REWRITE)
            )
        else:
            prompt = self._largest_prompt_tokens or DEFAULT_PROMPT_TOKENS
        worst = 0.0
        for model in self.ensemble.models:
            price_in, price_out = token_prices(model)
            cost = 0.0
            for turn in range(self.settings.repair_turns + 1):
                tokens_in = prompt + turn * (model.max_tokens + REPAIR_TURN_TOKENS)
                cost += tokens_in * price_in + model.max_tokens * price_out
            worst = max(worst, cost)
        return worst

    def state(self) -> dict[str, Any] | None:
        return self.ensemble.state()

    def load_state(self, state: dict[str, Any]) -> None:
        self.ensemble.load_state(state)

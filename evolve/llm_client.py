"""Model calls through litellm: retries with backoff, a per-call timeout, and cost.

litellm's own retries are switched off so that one place decides what is retried
(rate limits, 5xx, timeouts, dropped connections, replies that are not JSON), how long to
wait (exponential backoff with full jitter, or the server's Retry-After), and what a call
finally costs. A call that fails after its retries is returned as a record with its
error, never raised: the engine stores it and spends no evaluation on it. With a journal,
the call is a database row before its request goes out and holds every attempt's outcome,
so a killed driver loses no paid call; the journal also refuses a call that could pass
the budget (``BudgetExhausted``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price map from the web

import litellm  # noqa: E402  (the environment above must be set before the import)

from evolve.config import ConfigError, LLMSettings, ModelSettings  # noqa: E402
from evolve.database.call_journal import CallJournal  # noqa: E402
from evolve.database.records import LLMCallRecord  # noqa: E402

litellm.telemetry = False
litellm.suppress_debug_info = True
litellm.set_verbose = False
for _name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
    logging.getLogger(_name).setLevel(logging.WARNING)

LOCAL_API_KEY = "sk-local-no-key"
_RETRIED = (
    litellm.RateLimitError,
    litellm.InternalServerError,
    litellm.ServiceUnavailableError,
    litellm.BadGatewayError,
    litellm.Timeout,
    litellm.APIConnectionError,
    asyncio.TimeoutError,
)


class LLMConfigError(ConfigError):
    """A model's settings cannot work (for example its key variable is not set)."""


def api_key_for(model: ModelSettings) -> str | None:
    """The key from the variable the settings name; a dummy for a local server without one."""
    if model.api_key_env:
        key = os.environ.get(model.api_key_env)
        if not key:
            raise LLMConfigError(
                f"model {model.name}: environment variable {model.api_key_env} (api_key_env) is not set; "
                "export it or remove api_key_env to use the provider's default variable"
            )
        return key
    if model.api_base:
        return LOCAL_API_KEY
    return None


def endpoint_arguments(model: ModelSettings) -> dict[str, str]:
    """Where a model's calls go and with which key: the same for chat and embedding calls."""
    arguments = {"api_base": model.api_base} if model.api_base else {}
    key = api_key_for(model)
    if key is not None:
        arguments["api_key"] = key
    return arguments


def require_keys(settings: LLMSettings) -> None:
    """Stop before the first call when a configured model has no key to call with."""
    for model in settings.models:
        if api_key_for(model) is not None or model.api_base:
            continue
        try:
            missing = litellm.validate_environment(model=model.name).get("missing_keys") or []
        except Exception:  # litellm raises bare Exceptions for models it does not know
            continue
        keys = [k for k in missing if not k.endswith("_API_BASE")]
        if keys:
            raise LLMConfigError(
                f"model {model.name}: {' or '.join(keys)} is not set; export it (or name the variable with "
                "api_key_env), or run offline by giving no --model and no llm.models"
            )


def token_prices(model: ModelSettings) -> tuple[float, float]:
    """USD per token (prompt, completion): the settings' override, else litellm's table, else 0.

    A model missing from litellm's table (a local model) costs nothing unless priced in
    the settings; an override given for only one side keeps the table's other side.
    """
    table_in = table_out = 0.0
    try:
        table_in, table_out = litellm.cost_per_token(model=model.name, prompt_tokens=1, completion_tokens=1)
    except Exception:  # litellm raises bare Exceptions for unknown models
        table_in = table_out = 0.0
    price_in = model.price_in_per_mtok / 1e6 if model.price_in_per_mtok is not None else table_in
    price_out = model.price_out_per_mtok / 1e6 if model.price_out_per_mtok is not None else table_out
    return float(price_in), float(price_out)


def call_cost_usd(model: ModelSettings, tokens_in: int, tokens_out: int) -> float:
    price_in, price_out = token_prices(model)
    return tokens_in * price_in + tokens_out * price_out


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    """A generous prompt-size estimate (about 3 characters per token) for budget checks."""
    return sum(len(m.get("content") or "") for m in messages) // 3 + 8 * len(messages)


def max_cost_usd(model: ModelSettings, messages: list[dict[str, str]]) -> float:
    """The most one call of these messages can cost: the whole of ``max_tokens`` used."""
    return call_cost_usd(model, estimate_tokens(messages), model.max_tokens)


def usage_anomaly(model: ModelSettings, tokens_out: int) -> str | None:
    if tokens_out <= model.max_tokens:
        return None
    return (f"the reply reports {tokens_out} completion tokens against max_tokens {model.max_tokens}; "
            "charged as reported")


def attempt_outcome(error: BaseException | None, latency_s: float) -> dict[str, Any]:
    """One attempt as kept with its call: what came back (status code or error) and when."""
    status = getattr(error, "status_code", None) if error is not None else 200
    if error is None:
        outcome = "ok"
    elif isinstance(error, (litellm.Timeout, asyncio.TimeoutError)):
        outcome, status = "timeout", None  # litellm's 408 is its own, not the server's
    elif any(sign in str(error) for sign in ("Expecting value", "JSONDecodeError", "Unterminated string")):
        outcome = "invalid JSON"
    elif isinstance(status, int):
        outcome = f"http {status}"
    else:
        outcome = type(error).__name__
    entry: dict[str, Any] = {"outcome": outcome, "status": status if isinstance(status, int) else None,
                             "latency_s": round(latency_s, 4)}
    if error is not None:
        entry["error"] = _short(error, 200)
    return entry


def retry_after_s(error: BaseException) -> float | None:
    """The server's requested wait (``retry-after-ms`` or ``Retry-After`` in seconds), if any."""
    for headers in (
        getattr(error, "litellm_response_headers", None),
        getattr(error, "headers", None),
        getattr(getattr(error, "response", None), "headers", None),
    ):
        if not headers:
            continue
        lowered = {str(k).lower(): v for k, v in headers.items()}
        for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
            try:
                return max(0.0, float(lowered[name]) * scale)
            except (KeyError, TypeError, ValueError):
                continue
    return None


def render_transcript(messages: list[dict[str, str]]) -> str:
    """The prompt as stored with the call: every message, with its role."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


@dataclass
class CallOutcome:
    record: LLMCallRecord
    text: str | None  # None when the call failed
    attempts: int


class LLMClient:
    """Asynchronous chat calls with retries, a concurrency cap and cost accounting."""

    def __init__(self, settings: LLMSettings, rng: random.Random | None = None,
                 journal: CallJournal | None = None) -> None:
        self.settings = settings
        self.journal = journal
        self._rng = rng or random.Random(0)
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        for model in settings.models:
            api_key_for(model)

    def backoff_s(self, attempt: int, error: BaseException) -> float:
        """Full jitter on an exponential ceiling; a Retry-After from the server is honoured."""
        ceiling = min(self.settings.backoff_max_s, self.settings.backoff_base_s * (2**attempt))
        delay = self._rng.uniform(0.0, ceiling)
        hinted = retry_after_s(error)
        if hinted is not None:
            delay = max(delay, min(hinted, self.settings.backoff_max_s))
        return delay

    def _arguments(self, model: ModelSettings, messages: list[dict[str, str]]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": model.name,
            "messages": messages,
            "temperature": model.temperature,
            "max_tokens": model.max_tokens,
            "timeout": self.settings.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,
        }
        if model.reasoning_effort is not None:
            kwargs["reasoning_effort"] = model.reasoning_effort
        return {**kwargs, **endpoint_arguments(model)}

    def _cap(self) -> asyncio.Semaphore:
        """The concurrency cap of the running event loop (a semaphore cannot span loops)."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore = asyncio.Semaphore(self.settings.max_concurrency)
            self._loop = loop
        return self._semaphore

    async def _attempt(self, kwargs: dict[str, Any]) -> Any:
        # The outer guard catches a transport that ignores litellm's own timeout.
        async with self._cap():
            return await asyncio.wait_for(litellm.acompletion(**kwargs), self.settings.timeout_s + 1.0)

    async def complete(self, model: ModelSettings, messages: list[dict[str, str]], kind: str = "mutation") -> CallOutcome:
        """One call with its retries. Raises ``BudgetExhausted`` (sending nothing) when the
        journal says it could pass the budget."""
        kwargs = self._arguments(model, messages)
        prompt = render_transcript(messages)
        call_id = self.journal.open(model.name, kind, prompt, max_cost_usd(model, messages)) if self.journal else None
        started = time.monotonic()
        attempts: list[dict[str, Any]] = []
        error, response = await self._attempts(kwargs, attempts, call_id)
        latency = time.monotonic() - started
        if error is not None:
            kinds = ", ".join(a["outcome"] for a in attempts)
            reason = f"{type(error).__name__} after {len(attempts)} attempt(s) ({kinds}): {_short(error)}"
            record = LLMCallRecord(model.name, prompt, None, latency_s=latency, error=reason, kind=kind,
                                   attempts=attempts, call_id=call_id)
            text = None
        else:
            text = response.choices[0].message.content or ""
            usage = getattr(response, "usage", None)
            tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
            tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
            record = LLMCallRecord(
                model.name, prompt, text, tokens_in=tokens_in, tokens_out=tokens_out,
                cost_usd=call_cost_usd(model, tokens_in, tokens_out), latency_s=latency, kind=kind,
                attempts=attempts, anomaly=usage_anomaly(model, tokens_out), call_id=call_id,
            )
        if self.journal is not None and call_id is not None:
            self.journal.close(call_id, record, attempts)
        return CallOutcome(record, text, len(attempts))

    async def _attempts(self, kwargs: dict[str, Any], attempts: list[dict[str, Any]],
                        call_id: int | None) -> tuple[BaseException | None, Any]:
        """Try until an answer, an error retrying cannot help, or the retries are spent."""
        while True:
            began = time.monotonic()
            try:
                response = await self._attempt(kwargs)
            except _RETRIED as exc:
                attempts.append(attempt_outcome(exc, time.monotonic() - began))
                if len(attempts) > self.settings.retries:
                    return exc, None
                if self.journal is not None and call_id is not None:
                    self.journal.attempted(call_id, attempts)
                await asyncio.sleep(self.backoff_s(len(attempts) - 1, exc))
            except Exception as exc:  # auth, bad request, unknown model: retrying cannot help
                attempts.append(attempt_outcome(exc, time.monotonic() - began))
                return exc, None
            else:
                attempts.append(attempt_outcome(None, time.monotonic() - began))
                return None, response


def _short(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."

import asyncio
import random

import litellm
import pytest

from evolve.config import LLMSettings, ModelSettings
from evolve.llm_client import LLMClient, LLMConfigError, call_cost_usd, retry_after_s, token_prices

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hi"}]


def settings(server, **llm) -> LLMSettings:
    model = llm.pop("model", {})
    base = {"name": "openai/test-model", "api_base": server.api_base, **model}
    defaults = {"timeout_s": 5.0, "retries": 3, "backoff_base_s": 0.01, "backoff_max_s": 2.0}
    return LLMSettings(models=[ModelSettings(**base)], **{**defaults, **llm})


def run(client: LLMClient, kind: str = "mutation"):
    return asyncio.run(client.complete(client.settings.models[0], MESSAGES, kind))


def test_success_records_text_tokens_and_override_price(openai_server, server_module):
    openai_server.script(server_module.Reply("hello", prompt_tokens=1000, completion_tokens=500))
    client = LLMClient(settings(openai_server, model={"price_in_per_mtok": 2.0, "price_out_per_mtok": 8.0}))
    outcome = run(client)
    record = outcome.record
    assert outcome.text == "hello" and outcome.attempts == 1
    assert (record.tokens_in, record.tokens_out) == (1000, 500)
    assert record.cost_usd == pytest.approx(1000 * 2e-6 + 500 * 8e-6)
    assert record.error is None and record.response == "hello" and record.latency_s > 0
    assert "[user]\nsay hi" in record.prompt


def test_settings_reach_the_server(openai_server):
    client = LLMClient(settings(openai_server, model={"temperature": 0.25, "max_tokens": 321, "reasoning_effort": "low"}))
    run(client)
    body = openai_server.requests[0].body
    assert body["model"] == "test-model"
    assert (body["temperature"], body["max_tokens"], body["reasoning_effort"]) == (0.25, 321, "low")
    assert body["messages"] == MESSAGES


def test_litellm_price_table_is_used_without_override(openai_server, server_module):
    openai_server.script(server_module.Reply("ok", prompt_tokens=2000, completion_tokens=300))
    client = LLMClient(settings(openai_server, model={"name": "openai/gpt-4o-mini"}))
    record = run(client).record
    entry = litellm.model_cost["gpt-4o-mini"]
    expected = 2000 * entry["input_cost_per_token"] + 300 * entry["output_cost_per_token"]
    assert expected > 0
    assert record.cost_usd == pytest.approx(expected)


def test_override_of_one_side_keeps_the_table_for_the_other():
    model = ModelSettings(name="openai/gpt-4o-mini", price_out_per_mtok=100.0)
    price_in, price_out = token_prices(model)
    assert price_in == pytest.approx(litellm.model_cost["gpt-4o-mini"]["input_cost_per_token"])
    assert price_out == pytest.approx(1e-4)


def test_unknown_local_model_costs_nothing_unless_priced():
    assert call_cost_usd(ModelSettings(name="openai/my-local-model"), 10_000, 10_000) == 0.0
    priced = ModelSettings(name="openai/my-local-model", price_in_per_mtok=1.0, price_out_per_mtok=1.0)
    assert call_cost_usd(priced, 10_000, 10_000) == pytest.approx(0.02)


def test_rate_limit_waits_for_retry_after_then_succeeds(openai_server, server_module):
    openai_server.script(server_module.Reply(status=429, retry_after=0.4), server_module.Reply("after the wait"))
    client = LLMClient(settings(openai_server, backoff_base_s=0.0))
    outcome = run(client)
    first, second = openai_server.requests
    assert outcome.text == "after the wait" and outcome.attempts == 2
    assert (first.answered_status, second.answered_status) == (429, 200)
    assert second.at - first.at >= 0.4


def test_server_errors_are_retried_until_success(openai_server, server_module):
    openai_server.script(server_module.Reply(status=500), server_module.Reply(status=503), server_module.Reply("third time"))
    outcome = run(LLMClient(settings(openai_server)))
    assert outcome.text == "third time" and outcome.attempts == 3
    assert [r.answered_status for r in openai_server.requests] == [500, 503, 200]


def test_call_failing_after_all_retries_is_recorded_not_raised(openai_server):
    openai_server.set_mode("server-error")
    client = LLMClient(settings(openai_server, retries=2, model={"price_in_per_mtok": 5.0, "price_out_per_mtok": 5.0}))
    outcome = run(client)
    assert outcome.text is None and outcome.attempts == 3
    assert len(openai_server.requests) == 3
    assert outcome.record.error.startswith("InternalServerError after 3 attempt(s)")
    assert outcome.record.response is None and outcome.record.cost_usd == 0.0


def test_bad_request_is_not_retried(openai_server, server_module):
    openai_server.script(server_module.Reply(status=400))
    outcome = run(LLMClient(settings(openai_server)))
    assert outcome.text is None and len(openai_server.requests) == 1
    assert "BadRequestError after 1 attempt(s)" in outcome.record.error


def test_reply_slower_than_the_timeout_fails_the_attempt(openai_server, server_module):
    openai_server.script(server_module.Reply("too late", delay_s=3.0))
    outcome = run(LLMClient(settings(openai_server, timeout_s=0.5, retries=0)))
    assert outcome.text is None
    assert "Timeout" in outcome.record.error
    assert outcome.record.latency_s < 2.5


def test_timeout_is_retried(openai_server, server_module):
    openai_server.script(server_module.Reply("too late", delay_s=3.0), server_module.Reply("in time"))
    outcome = run(LLMClient(settings(openai_server, timeout_s=0.5, retries=1)))
    assert outcome.text == "in time" and outcome.attempts == 2


def test_backoff_is_full_jitter_under_an_exponential_ceiling():
    client = LLMClient(LLMSettings(backoff_base_s=0.5, backoff_max_s=3.0), random.Random(1))
    error = RuntimeError("no headers")
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (8, 3.0)]:
        delays = [client.backoff_s(attempt, error) for _ in range(200)]
        assert 0.0 <= min(delays) and max(delays) <= ceiling
        assert max(delays) > 0.7 * ceiling  # spread over the whole interval, not a fixed step
        assert min(delays) < 0.3 * ceiling


def test_key_is_read_from_the_named_variable(openai_server, monkeypatch):
    monkeypatch.setenv("EVOLVE_TEST_KEY", "sk-from-env")
    run(LLMClient(settings(openai_server, model={"api_key_env": "EVOLVE_TEST_KEY"})))
    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_missing_key_variable_is_a_config_error(openai_server, monkeypatch):
    monkeypatch.delenv("EVOLVE_TEST_MISSING_KEY", raising=False)
    with pytest.raises(LLMConfigError, match="EVOLVE_TEST_MISSING_KEY"):
        LLMClient(settings(openai_server, model={"api_key_env": "EVOLVE_TEST_MISSING_KEY"}))


def test_concurrency_cap_serialises_calls(openai_server):
    openai_server.state.latency_s = 0.3
    client = LLMClient(settings(openai_server, max_concurrency=1))

    async def three():
        model = client.settings.models[0]
        return await asyncio.gather(*(client.complete(model, MESSAGES) for _ in range(3)))

    outcomes = asyncio.run(three())
    assert all(o.text for o in outcomes)
    arrivals = sorted(r.at for r in openai_server.requests)
    assert arrivals[1] - arrivals[0] >= 0.25 and arrivals[2] - arrivals[1] >= 0.25


class HeaderError(Exception):
    def __init__(self, headers):
        super().__init__("rate limited")
        self.headers = headers


def test_retry_after_reads_seconds_and_milliseconds():
    assert retry_after_s(HeaderError({"Retry-After": "3"})) == 3.0
    assert retry_after_s(HeaderError({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after_s(HeaderError({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})) is None
    assert retry_after_s(RuntimeError("no headers")) is None


def test_retry_after_is_capped_by_the_longest_backoff():
    client = LLMClient(LLMSettings(backoff_base_s=0.0, backoff_max_s=2.0))
    assert client.backoff_s(0, HeaderError({"retry-after": "30"})) == 2.0

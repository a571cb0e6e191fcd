"""Model calls journaled before their request goes out, against the scripted server and a
server whose replies are not JSON; real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from sqlalchemy import select

from evolve.config import LLMSettings, ModelSettings
from evolve.database import ProgramDatabase
from evolve.database.call_journal import CALLS, LOST, BudgetExhausted, CallJournal
from evolve.llm_client import LLMClient, max_cost_usd

MESSAGES = [{"role": "user", "content": "say hi"}]
PRICED = {"price_in_per_mtok": 1000.0, "price_out_per_mtok": 2000.0, "max_tokens": 100}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[ProgramDatabase]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/calls.db"
    else:
        url = request.getfixturevalue("postgres_server").new_database(f"calls_{abs(hash(request.node.name))}")
    database = ProgramDatabase(url)
    yield database
    database.close()


def settings(api_base: str, **llm) -> LLMSettings:
    model = ModelSettings(name="openai/test-model", api_base=api_base, **PRICED)
    defaults = {"timeout_s": 1.0, "retries": 3, "backoff_base_s": 0.01, "backoff_max_s": 0.05}
    return LLMSettings(models=[model], **{**defaults, **llm})


def rows(db: ProgramDatabase) -> list:
    with db.engine.connect() as conn:
        return list(conn.execute(select(CALLS).order_by(CALLS.c.id)))


def call(client: LLMClient):
    return asyncio.run(client.complete(client.settings.models[0], MESSAGES))


def test_every_attempt_is_kept_with_its_call(db, openai_server, server_module):
    run = db.create_run(None, "toy", {}, 0)
    openai_server.script(server_module.Reply(status=500), server_module.Reply("late", delay_s=1.5),
                         server_module.Reply(status=429, retry_after=0.0), server_module.Reply("hello"))
    journal = CallJournal(db.engine, run.id)
    outcome = call(LLMClient(settings(openai_server.api_base), journal=journal))
    assert outcome.text == "hello"
    (row,) = rows(db)
    assert row.id == outcome.record.call_id and row.state == "answered" and row.response == "hello"
    assert [a["outcome"] for a in row.attempts] == ["http 500", "timeout", "http 429", "ok"]
    assert all(a["latency_s"] >= 0 for a in row.attempts) and row.attempts[1]["latency_s"] >= 1.0
    assert journal.spent_usd == pytest.approx(row.cost_usd) and row.cost_usd > 0


class NotJSONFirst(BaseHTTPRequestHandler):
    """Answers the first request with a cut-off JSON body, then well (``fresh()`` per server)."""

    protocol_version = "HTTP/1.1"
    served = 0

    @classmethod
    def fresh(cls) -> type["NotJSONFirst"]:
        return type("NotJSONFirstServer", (cls,), {"served": 0})

    def log_message(self, *args: object) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).served += 1
        if type(self).served == 1:
            body = b'{"id": "x", "choices": [{"message": '
        else:
            body = (b'{"id": "y", "object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0, '
                    b'"message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}], '
                    b'"usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}')
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_reply_that_is_not_json_is_retried_and_traced(db):
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotJSONFirst.fresh())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = db.create_run(None, "toy", {}, 0)
        client = LLMClient(settings(f"http://127.0.0.1:{server.server_address[1]}/v1"),
                           journal=CallJournal(db.engine, run.id))
        assert call(client).text == "fine"
    finally:
        server.shutdown()
    (row,) = rows(db)
    assert [a["outcome"] for a in row.attempts] == ["invalid JSON", "ok"]
    assert "Expecting value" in row.attempts[0]["error"]


def test_calls_left_in_flight_are_lost_at_their_maximum_cost_on_reopening(db):
    run = db.create_run(None, "toy", {}, 0)
    first = CallJournal(db.engine, run.id)
    pending = first.open("openai/test-model", "mutation", "[user]\nhi", max_cost_usd=0.25)
    reopened = CallJournal(db.engine, run.id)  # the next driver, after a kill
    assert reopened.lost == 1 and reopened.spent_usd == pytest.approx(0.25)
    (row,) = rows(db)
    assert (row.id, row.state, row.error, row.cost_usd) == (pending, "lost", LOST, 0.25)


def test_no_call_starts_when_spent_plus_in_flight_could_pass_the_budget(db, openai_server):
    run = db.create_run(None, "toy", {}, 0)
    model = settings(openai_server.api_base).models[0]
    bound = max_cost_usd(model, MESSAGES)
    journal = CallJournal(db.engine, run.id, budget_usd=2.5 * bound)
    journal.open(model.name, "mutation", "a", bound)
    journal.open(model.name, "mutation", "b", bound)
    client = LLMClient(settings(openai_server.api_base), journal=journal)
    with pytest.raises(BudgetExhausted, match="could pass the budget"):
        call(client)
    assert openai_server.requests == [] and len(rows(db)) == 2


def test_a_reply_past_max_tokens_is_an_anomaly_charged_as_reported(db, openai_server):
    run = db.create_run(None, "toy", {}, 0)
    openai_server.state.completion_tokens = 1_300_000
    journal = CallJournal(db.engine, run.id, budget_usd=1.0)  # the call may cost up to $0.21
    outcome = call(LLMClient(settings(openai_server.api_base), journal=journal))
    (row,) = rows(db)
    assert "1300000 completion tokens against max_tokens 100" in row.anomaly
    assert row.cost_usd == pytest.approx(outcome.record.cost_usd) and row.cost_usd > 2.5
    assert journal.would_pass_budget(0.0)

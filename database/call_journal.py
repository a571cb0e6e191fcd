"""Paid model calls written before their request goes out, and the budget they draw on.

A call is a row from the moment it starts (state ``pending``, with the most it can cost),
each attempt's outcome is added as it ends, and the reply is written before anything uses
it; the program that came of it links the row later. So a driver killed at any moment
leaves every request it sent in the database: the next driver to hold the run marks the
calls still pending as ``lost`` and charges each its maximum cost, since the provider may
have billed it.

The budget is a hard bound here: a call may start only when what was spent plus the
maximum cost of every call in flight, this one included, stays within it.

Every write waits out a database that went away (``database.outage``); a new row carries a
write key, so an insert tried again after a lost connection never makes a second row.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from evolve.database.errors import DatabaseError
from evolve.database.models import LLMCall
from evolve.database.outage import Outage
from evolve.database.records import LLMCallRecord
from evolve.database.storable import storable, storable_record

CALLS = LLMCall.__table__
LOST = "lost: the driver stopped before the reply was read; charged at its maximum cost"


class BudgetExhausted(DatabaseError):
    """Starting this call could pass the run's budget."""


class CallJournal:
    """One run's model calls, for the driver that holds the run's lease."""

    def __init__(self, engine: Engine, run_id: int, budget_usd: float | None = None,
                 outage: Outage | None = None) -> None:
        self.engine, self.run_id, self.budget_usd = engine, run_id, budget_usd
        self.outage = outage or Outage(where=engine.url.render_as_string(hide_password=True))
        self.lost = self._close_lost()
        with self.engine.connect() as conn:
            self._spent = float(conn.execute(
                select(func.coalesce(func.sum(CALLS.c.cost_usd), 0.0)).where(CALLS.c.run_id == run_id)
            ).scalar_one())
        self._reserved: dict[int, float] = {}

    def _update(self, call_id: int, **values: Any) -> None:
        def write() -> None:
            with self.engine.begin() as conn:
                conn.execute(update(CALLS).where(CALLS.c.id == call_id).values(**values))

        self.outage.run(write)

    def _insert(self, values: dict[str, Any]) -> int:
        """A new row, once: a retry first looks for the row the failed try may have made."""
        key = uuid.uuid4().hex
        retried: list[bool] = []

        def write() -> int:
            with self.engine.begin() as conn:
                if retried:
                    found = conn.execute(select(CALLS.c.id).where(CALLS.c.write_key == key)).scalar()
                    if found is not None:
                        return int(found)
                return int(conn.execute(insert(CALLS).values(**values, write_key=key)).inserted_primary_key[0])

        return self.outage.run(write, lambda: retried.append(True))

    def _close_lost(self) -> int:
        """Calls a killed driver left in flight: lost, at the cost reserved for them."""
        def write() -> int:
            with self.engine.begin() as conn:
                return conn.execute(
                    update(CALLS)
                    .where(CALLS.c.run_id == self.run_id, CALLS.c.state == "pending")
                    .values(state="lost", error=LOST, cost_usd=func.coalesce(CALLS.c.max_cost_usd, 0.0))
                ).rowcount

        return self.outage.run(write)

    @property
    def spent_usd(self) -> float:
        return self._spent

    @property
    def reserved_usd(self) -> float:
        return sum(self._reserved.values())

    def would_pass_budget(self, cost_usd: float) -> bool:
        if self.budget_usd is None:
            return False
        return self._spent + self.reserved_usd + cost_usd > self.budget_usd + 1e-12

    def open(self, model: str, kind: str, prompt: str, max_cost_usd: float) -> int:
        """Write the call as pending before its request goes out; refused past the budget."""
        if self.would_pass_budget(max_cost_usd):
            raise BudgetExhausted(
                f"a {model} call (up to ${max_cost_usd:.4f}) with ${self._spent:.4f} spent and "
                f"${self.reserved_usd:.4f} in flight could pass the budget of ${self.budget_usd:.4f}"
            )
        call_id = self._insert(dict(
            run_id=self.run_id, model=model, kind=kind, prompt=storable(prompt), response=None,
            tokens_in=0, tokens_out=0, cost_usd=0.0, latency_s=0.0, created_at=time.time(),
            state="pending", attempts=[], max_cost_usd=max_cost_usd,
        ))
        self._reserved[call_id] = max_cost_usd
        return call_id

    def attempted(self, call_id: int, attempts: list[dict[str, Any]]) -> None:
        """Keep every attempt's outcome with the call as soon as it is known."""
        self._update(call_id, attempts=storable(attempts))

    def close(self, call_id: int, record: LLMCallRecord, attempts: list[dict[str, Any]]) -> None:
        """The call's result, written before the caller may use it."""
        record = storable_record(record)
        self._update(
            call_id, response=record.response, tokens_in=record.tokens_in, tokens_out=record.tokens_out,
            cost_usd=record.cost_usd, latency_s=record.latency_s, error=record.error,
            state="failed" if record.error else "answered", attempts=storable(attempts), anomaly=record.anomaly,
        )
        self._reserved.pop(call_id, None)
        self._spent += record.cost_usd

    def record(self, record: LLMCallRecord, program_id: int | None = None) -> int:
        """A call made without the journal (a mutator that does not journal), written after."""
        record = storable_record(record)
        call_id = self._insert(dict(
            run_id=self.run_id, program_id=program_id, model=record.model, kind=record.kind,
            prompt=record.prompt, response=record.response, parsed_edit=record.parsed_edit,
            tokens_in=record.tokens_in, tokens_out=record.tokens_out, cost_usd=record.cost_usd,
            latency_s=record.latency_s, error=record.error, created_at=time.time(),
            state="failed" if record.error else "answered", anomaly=record.anomaly,
        ))
        self._spent += record.cost_usd
        return call_id

    def note_edit(self, call_id: int, parsed_edit: str | None) -> None:
        if parsed_edit is None:
            return
        self._update(call_id, parsed_edit=storable(parsed_edit))

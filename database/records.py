"""Plain records that cross the database boundary (no SQLAlchemy objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evolve.evaluators.result import StageRecord
from evolve.statuses import Origin, Status

# The limits on what a failed attempt leaves behind, stated once: its row's error is one
# line of at most ERROR_CHARS; each island keeps the reasons of its latest FAILURES_KEPT
# failures, each at most FAILURE_CHARS, and that is what a ``Sample`` (and so a prompt)
# shows the model.
ERROR_CHARS = 500
FAILURES_KEPT = 5
FAILURE_CHARS = 200


@dataclass
class ProgramView:
    """A stored program as the driver and the browsers see it."""

    id: int
    run_id: int
    parent_id: int | None
    island: int
    generation: int
    code: str
    code_hash: str
    origin: str
    status: str
    score: float | None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    feature_cell: tuple[int, ...] | None = None
    created_at: float = 0.0
    diff: str = ""
    error: str | None = None
    test_score: float | None = None
    test_metrics: dict[str, Any] | None = None


@dataclass
class NewProgram:
    """Everything the engine knows about an attempt when it records it.

    Failed attempts (LLM error, edit that did not apply, duplicate, evaluation failure)
    are recorded too, with ``code`` possibly empty and ``error`` saying why.
    """

    parent_id: int | None
    island: int
    generation: int
    code: str
    origin: Origin
    status: Status
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    diff: str = ""
    model: str | None = None
    error: str | None = None
    stages: list[StageRecord] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    llm_call_ids: list[int] = field(default_factory=list)
    # Feature values already computed elsewhere (say, next to the evaluation, off the
    # driver); dimensions missing here are computed when the program is recorded.
    features: dict[str, float] = field(default_factory=dict)
    # Recording the same attempt again (say, after a lost connection) finds its row by this
    # key instead of writing a second one; the archive picks a fresh one when it is empty.
    write_key: str | None = None


@dataclass
class LLMCallRecord:
    model: str
    prompt: str
    response: str | None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str | None = None
    kind: str = "mutation"  # mutation | repair
    parsed_edit: str | None = None
    # every attempt's outcome: {"outcome": "ok" | "http 500" | "invalid JSON" | error name, "status", "latency_s"}
    attempts: list[dict[str, Any]] = field(default_factory=list)
    anomaly: str | None = None  # the reply's usage broke a bound (more completion tokens than max_tokens)
    call_id: int | None = None  # its row, when it was journaled before the request went out


@dataclass
class Sample:
    """What the archive offers for the next mutation."""

    island: int
    parent: ProgramView
    inspirations: list[ProgramView]
    generation: int
    failures: list[str] = field(default_factory=list)  # recent failure reasons on this island, oldest first


RUN_STATUSES = ("running", "stopped", "finished", "failed", "interrupted")


@dataclass
class RunInfo:
    """A run's identity and configuration, as stored in the ``runs`` table."""

    id: int
    name: str
    problem: str
    status: str
    config: dict[str, Any]
    seed: int
    created_at: float
    updated_at: float

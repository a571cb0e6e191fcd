"""What the browsers show, as plain records: one shape shared by the CLI and the web UI.

Both views read the database through ``evolve.web.reader.RunReader``, which fills these
records, so a column means the same thing in a terminal and in a browser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunRow:
    """One line of the runs list."""

    id: int
    name: str
    problem: str
    status: str
    candidates: int
    best_train: float | None
    best_test: float | None
    dollars: float
    started_at: float


@dataclass
class IslandBest:
    island: int
    candidates: int
    best_id: int | None
    best_score: float | None


@dataclass
class ModelUsage:
    model: str
    calls: int
    tokens_in: int
    tokens_out: int
    dollars: float
    errors: int = 0


@dataclass
class ProgramRow:
    """A program as a line of a table (top programs, lineage, export)."""

    id: int
    parent_id: int | None
    island: int
    generation: int
    origin: str
    status: str
    score: float | None
    model: str | None
    created_at: float
    error: str | None = None


@dataclass
class Attempt:
    """One candidate, reduced to what the dashboard's charts plot."""

    id: int
    island: int
    status: str
    score: float | None
    created_at: float
    feature_cell: tuple[int, ...] | None = None


@dataclass
class RunSummary:
    """Everything the run dashboard and ``evolve show`` present."""

    run: RunRow
    config: dict[str, Any]
    counts: dict[str, int]
    islands: list[IslandBest]
    models: list[ModelUsage]
    top: list[ProgramRow]
    attempts: list[Attempt]
    features: list[dict[str, Any]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.run.status == "running"


@dataclass
class LLMCall:
    model: str
    kind: str
    prompt: str
    response: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_s: float
    error: str | None = None


@dataclass
class ProgramDetail:
    """One program with how it was made and what it cost."""

    row: ProgramRow
    run_id: int
    code: str
    diff: str
    metrics: dict[str, Any]
    artifacts: dict[str, str]
    test_metrics: dict[str, Any] | None
    stages: list[dict[str, Any]]
    timings: dict[str, float]
    feature_cell: tuple[int, ...] | None
    llm_calls: list[LLMCall]
    children: list[int]


@dataclass
class LineageStep:
    """One step from the seed towards a program: what changed and what it gained."""

    row: ProgramRow
    delta: float | None
    diff: str


def as_plain(record: Any) -> Any:
    """A record as JSON-ready data (for ``--json`` and the web API)."""
    return asdict(record)

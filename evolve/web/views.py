"""What the browsers show, as plain records: one shape shared by the CLI and the web UI.

Both views read the database through ``evolve.web.reader.RunReader``, which fills these
records, so a column means the same thing in a terminal and in a browser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evolve.evaluators.result import StageRecord


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
    best_id: int | None = None
    max_test: float | None = None
    last_activity: float = 0.0
    target: int | None = None
    stalled: bool = False

    @property
    def running(self) -> bool:
        """The driver is writing: running and heard from lately (a killed one is stalled)."""
        return self.status == "running" and not self.stalled

    @property
    def state(self) -> str:
        return "stalled" if self.status == "running" and self.stalled else self.status


@dataclass
class IslandBest:
    """An island as the archive holds it: its best elite (a migrant copy, if that is what
    holds the island's best cell) and its candidates."""

    island: int
    candidates: int
    best_id: int | None
    best_score: float | None
    failed: int = 0
    elites: int = 0
    best_migrant_of: int | None = None


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
    test_score: float | None = None


@dataclass
class Attempt:
    """One candidate, reduced to what the dashboard's charts plot."""

    id: int
    island: int
    status: str
    score: float | None
    created_at: float
    origin: str = "diff"


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
    grids: list[dict[str, Any]] = field(default_factory=list)
    grid_error: str | None = None
    failure_causes: list[dict[str, Any]] = field(default_factory=list)
    seed_score: float | None = None

    @property
    def running(self) -> bool:
        return self.run.running


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
    stages: list[StageRecord]
    timings: dict[str, float]
    feature_cell: tuple[int, ...] | None
    llm_calls: list[LLMCall]
    children: list[ProgramRow]
    duplicate_of: int | None = None
    seed_id: int | None = None
    instances: dict[str, float] = field(default_factory=dict)  # per-instance scores, higher is better


@dataclass
class LineageStep:
    """One step from the seed towards a program: what changed and what it gained."""

    row: ProgramRow
    delta: float | None
    diff: str


def as_plain(record: Any) -> Any:
    """A record as JSON-ready data (for ``--json`` and the web API)."""
    return asdict(record)

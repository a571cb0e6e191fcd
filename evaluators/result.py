"""What one evaluation of a candidate produces.

The engine stores these fields as they are; the database never interprets the status
beyond "ok means it may become a parent". The statuses an evaluation can end with
(ok, invalid, error, timeout, killed, culled, unavailable) are members of
``evolve.statuses.Status``, which says what each means.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evolve.statuses import Status


@dataclass
class StageRecord:
    """One stage (quick or full) of one evaluation, in the one shape every layer keeps it:
    the sandbox makes it, the cascade collects it, the result carries it across Ray, the
    archive writes it as an ``evaluation_stages`` row and the browsers read it back."""

    name: str
    status: Status
    wall_s: float = 0.0
    cpu_s: float = 0.0
    error: str | None = None


@dataclass
class EvaluationResult:
    status: str
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    stages: list[StageRecord] = field(default_factory=list)
    node: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EvaluationResult":
        stages = [StageRecord(**s) for s in data.get("stages", [])]
        return cls(**{**data, "stages": stages})

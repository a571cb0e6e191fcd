"""What one evaluation of a candidate produces.

The engine stores these fields as they are; the database never interprets the status
beyond "ok means it may become a parent".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# ok: scored. invalid: the evaluator rejected the answer (wrong shape, infeasible).
# error: the candidate or evaluator raised. timeout: wall clock exceeded.
# killed: a resource limit or a signal ended it. culled: stopped after the quick stage.
# unavailable: the stage cannot run here (for example a kernel benchmark without a GPU).
STATUSES = ("ok", "invalid", "error", "timeout", "killed", "culled", "unavailable")


@dataclass
class StageResult:
    name: str
    status: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    error: str | None = None


@dataclass
class EvaluationResult:
    status: str
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    stages: list[StageResult] = field(default_factory=list)
    node: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EvaluationResult":
        stages = [StageResult(**s) for s in data.get("stages", [])]
        return cls(**{**data, "stages": stages})

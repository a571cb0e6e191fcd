"""The evaluation cascade: a cheap quick stage first, the full stage only for those that pass.

Most candidates an LLM writes are worse than their parent; rejecting them on a small
workload saves the full simulation for the promising ones.
"""

from __future__ import annotations

from evolve.evaluators.result import EvaluationResult, StageRecord
from evolve.evaluators.sandbox import Sandbox
from evolve.statuses import Status


def run_cascade(sandbox: Sandbox, code: str, split: str, threshold: float | None) -> EvaluationResult:
    """Quick stage (when the evaluator has one), then the full stage unless culled.

    A failed quick stage ends the cascade with its status. A quick score below
    ``threshold`` ends it as "culled", keeping the quick score under metrics["quick_score"].
    """
    stages: list[StageRecord] = []
    quick_metrics: dict[str, object] = {}
    if sandbox.has_quick:
        quick = sandbox.run("quick", code, split)
        stages.append(quick.record)
        if quick.status != Status.OK:
            return EvaluationResult(status=quick.status, metrics=quick.metrics, artifacts=quick.artifacts, stages=stages)
        quick_metrics = {"quick_score": quick.score, **{f"quick_{k}": v for k, v in quick.metrics.items()}}
        if threshold is not None and quick.score is not None and quick.score < threshold:
            artifacts = {**quick.artifacts, "cascade": f"quick score {quick.score:g} below the threshold {threshold:g}"}
            return EvaluationResult(status=Status.CULLED, metrics=quick_metrics, artifacts=artifacts, stages=stages)
    full = sandbox.run("full", code, split)
    stages.append(full.record)
    return EvaluationResult(status=full.status, score=full.score, metrics={**quick_metrics, **full.metrics},
                            artifacts=full.artifacts, stages=stages)

"""The job a strategy schedules: a fixed amount of compute and its progress so far."""

from __future__ import annotations


class Task:
    """A single job of `duration_seconds` of work; progress is the strategy's tick list."""

    def __init__(self, duration_seconds: float) -> None:
        self.duration_seconds = float(duration_seconds)
        self._progress: list[float] = []

    def get_total_duration_seconds(self) -> float:
        return self.duration_seconds

    def set_progress_source(self, progress: list[float]) -> None:
        self._progress = progress

    @property
    def is_done(self) -> bool:
        return max(0.0, self.duration_seconds - sum(self._progress)) <= 1e-8

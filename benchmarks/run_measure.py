"""What one benchmark run yields, for either framework, and the rates derived from it."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RunMeasure:
    """``finished_at``: the wall-clock time (time.time) each candidate was finished, seed excluded."""

    framework: str
    in_flight: int
    wall_s: float  # the whole command, start-up and shutdown included
    finished_at: list[float]
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def candidates(self) -> int:
        return len(self.finished_at)

    @property
    def end_to_end_rate(self) -> float:
        return self.candidates / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def steady_rate(self) -> float:
        """Candidates per second once the pipeline is full: from the K-th finish to the last.

        Start-up (Ray, worker processes, imports, the seed's evaluation) is paid once per
        run, so the rate a long run sees is this one. Counting from the K-th finish rather
        than the first keeps a first wave of K candidates finishing together from
        inflating the rate.
        """
        times = sorted(self.finished_at)
        first = min(self.in_flight, len(times)) - 1
        if len(times) - 1 <= first or times[-1] <= times[first]:
            return 0.0
        return (len(times) - 1 - first) / (times[-1] - times[first])

    def status_text(self) -> str:
        return ", ".join(f"{count} {status}" for status, count in self.statuses.most_common())


def pipeline_limit(in_flight: int, latency_s: float, evaluation_s: float, slots: int) -> float:
    """The most candidates per second K in flight can give: min(K / (L + E), W / E); infinite at L = E = 0."""
    by_flight = in_flight / (latency_s + evaluation_s) if latency_s + evaluation_s > 0 else math.inf
    by_slots = slots / evaluation_s if evaluation_s > 0 else math.inf
    return min(by_flight, by_slots)

"""The runs each split simulates, built from data/traces.npz and the leaderboard list.

train: the ADRS leaderboard's 1,080 runs (6 environments x 30 windows x deadlines 52/70 h
x restart overheads 0.02/0.05/0.10 h), so the train mean is the leaderboard's number.
test: held-out windows the leaderboard never uses, from all 8 environments (the two it
skips included), under the same job configurations.
quick: the first 5 leaderboard windows of each environment, the cascade's cheap stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TASK_HOURS = 48.0
DEADLINES_HOURS = (52.0, 70.0)
OVERHEADS_HOURS = (0.02, 0.05, 0.10)
TEST_WINDOWS_PER_ENV = 15
QUICK_WINDOWS_PER_ENV = 5
SPLITS = ("train", "test", "quick")


class UnknownSplit(ValueError):
    """The split name is not one this problem defines."""


@dataclass(frozen=True)
class Scenario:
    env: str
    window: int
    deadline_hours: float
    overhead_hours: float


@dataclass(frozen=True)
class TraceSet:
    envs: tuple[str, ...]
    unavailable: np.ndarray
    gap_seconds: float

    def row(self, env: str, window: int) -> np.ndarray:
        """1 where spot is unavailable, one entry per tick of the window."""
        return self.unavailable[self.envs.index(env), window]


@lru_cache(maxsize=1)
def load_traces() -> TraceSet:
    with np.load(DATA_DIR / "traces.npz") as archive:
        return TraceSet(
            envs=tuple(str(e) for e in archive["envs"]),
            unavailable=archive["unavailable"],
            gap_seconds=float(archive["gap_seconds"]),
        )


@lru_cache(maxsize=1)
def leaderboard_windows() -> dict[str, list[int]]:
    """Leaderboard windows per environment, in the leaderboard's (string-sorted) order."""
    spec = json.loads((DATA_DIR / "leaderboard_scenarios.json").read_text())
    return {
        env: [int(name.removesuffix(".json")) for name in spec["traces_per_env"][env]]
        for env in spec["envs"]
    }


def _held_out_windows(env: str, n_windows: int) -> list[int]:
    used = set(leaderboard_windows().get(env, []))
    free = [w for w in range(n_windows) if w not in used]
    picks = np.linspace(0, len(free) - 1, TEST_WINDOWS_PER_ENV).round().astype(int)
    return [free[i] for i in picks]


def _expand(windows: dict[str, list[int]]) -> list[Scenario]:
    return [
        Scenario(env, window, deadline, overhead)
        for env, env_windows in windows.items()
        for window in env_windows
        for deadline in DEADLINES_HOURS
        for overhead in OVERHEADS_HOURS
    ]


def scenarios(split: str) -> list[Scenario]:
    if split == "train":
        return _expand(leaderboard_windows())
    if split == "quick":
        return _expand({env: w[:QUICK_WINDOWS_PER_ENV] for env, w in leaderboard_windows().items()})
    if split == "test":
        traces = load_traces()
        n_windows = traces.unavailable.shape[1]
        return _expand({env: _held_out_windows(env, n_windows) for env in traces.envs})
    raise UnknownSplit(f"unknown split {split!r}; this problem defines {', '.join(SPLITS)}")

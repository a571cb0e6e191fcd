"""The runs each split simulates, built from data/traces.npz and the leaderboard list.

A scenario is a list of zones (the job starts in the first) and the windows it runs on;
window k means file k.json of every listed zone, which cover the same wall-clock hours.
train: the ADRS leaderboard's six scenarios on windows 0-7 (34 runs).
test: the same six zone lists on held-out windows (twice as many per scenario, evenly
spaced over windows 8-99, which the leaderboard never uses).
quick: the leaderboard's stage-1 check (us-east-1a + us-east-1c, window 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TASK_HOURS = 48.0
DEADLINE_HOURS = 52.0
OVERHEAD_HOURS = 0.2
FIRST_HELD_OUT_WINDOW = 8
SPLITS = ("train", "test", "quick")


class UnknownSplit(ValueError):
    """The split name is not one this problem defines."""


@dataclass(frozen=True)
class Scenario:
    name: str
    zones: tuple[str, ...]
    windows: tuple[int, ...]


@dataclass(frozen=True)
class TraceSet:
    zones: tuple[str, ...]
    unavailable: np.ndarray
    first_spot_price: np.ndarray
    gap_seconds: float

    def run_inputs(self, zones: tuple[str, ...], window: int) -> tuple[list[list[int]], list[float]]:
        rows = [self.zones.index(z) for z in zones]
        return (
            [self.unavailable[r, window].tolist() for r in rows],
            [float(self.first_spot_price[r, window]) for r in rows],
        )


@lru_cache(maxsize=1)
def load_traces() -> TraceSet:
    with np.load(DATA_DIR / "traces.npz") as archive:
        return TraceSet(
            zones=tuple(str(z) for z in archive["zones"]),
            unavailable=archive["unavailable"],
            first_spot_price=archive["first_spot_price"],
            gap_seconds=float(archive["gap_seconds"]),
        )


@lru_cache(maxsize=1)
def _leaderboard() -> dict:
    return json.loads((DATA_DIR / "leaderboard_scenarios.json").read_text())


def _windows(names: list[str]) -> tuple[int, ...]:
    return tuple(int(n.removesuffix(".json")) for n in names)


def scenarios(split: str) -> list[Scenario]:
    spec = _leaderboard()
    if split == "quick":
        check = spec["stage1_check"]
        return [Scenario(check["name"], tuple(check["regions"]), _windows(check["traces"]))]
    if split == "train":
        return [Scenario(s["name"], tuple(s["regions"]), _windows(s["traces"])) for s in spec["scenarios"]]
    if split == "test":
        n_windows = load_traces().unavailable.shape[1]
        held_out = []
        for s in spec["scenarios"]:
            count = 2 * len(s["traces"])
            picks = np.linspace(FIRST_HELD_OUT_WINDOW, n_windows - 1, count).round().astype(int)
            held_out.append(Scenario(s["name"], tuple(s["regions"]), tuple(int(w) for w in picks)))
        return held_out
    raise UnknownSplit(f"unknown split {split!r}; this problem defines {', '.join(SPLITS)}")

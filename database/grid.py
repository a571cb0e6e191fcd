"""MAP-Elites cells: binning feature values, and one island's grid of elites.

Binning is shared by all islands so a migrant keeps its cell. A dimension with a
``range`` is cut into equal bins over that range (values outside are clamped to the
first or last bin). A dimension without one adapts: its range is the span of the values
seen so far, widened by 10 % whenever a value falls outside, so that a steadily growing
feature (length, say) re-bins the grids a logarithmic number of times, not every time.
After a re-bin every island re-places its elites in id order; where two now share a
cell the better one stays (the loser remains a possible ``random`` parent).
"""

from __future__ import annotations

from array import array
from collections import deque
from typing import Any

from evolve.database.records import FAILURES_KEPT
from evolve.database.settings import FeatureDimension

HEADROOM = 0.1


class Elite:
    """The in-memory index entry of a placed program: no code, ids and numbers only."""

    __slots__ = ("id", "score", "features", "code_hash", "cell")

    def __init__(self, id: int, score: float, features: tuple[float, ...], code_hash: bytes) -> None:
        self.id = id
        self.score = score
        self.features = features
        self.code_hash = code_hash
        self.cell: tuple[int, ...] = ()

    def beats(self, other: "Elite") -> bool:
        """Better, or as good and newer: equal-score offspring replace their elders so a
        search can drift across plateaus instead of re-mutating the same program."""
        return self.score > other.score or (self.score == other.score and self.id > other.id)


class Binner:
    def __init__(self, dimensions: list[FeatureDimension]) -> None:
        self.dimensions = dimensions
        self.lo: list[float | None] = [d.range[0] if d.range else None for d in dimensions]
        self.hi: list[float | None] = [d.range[1] if d.range else None for d in dimensions]
        self._scales: list[tuple[float, float, int]] = []
        self._rescale()

    def _rescale(self) -> None:
        """Cache (lo, bins per unit, last bin) per dimension for ``cell``."""
        self._scales = []
        for lo, hi, dimension in zip(self.lo, self.hi, self.dimensions):
            if lo is None or hi is None or hi <= lo:
                self._scales.append((0.0, 0.0, 0))
            else:
                self._scales.append((lo, dimension.bins / (hi - lo), dimension.bins - 1))

    def observe(self, values: tuple[float, ...]) -> bool:
        """Widen adaptive ranges to cover ``values``; True when bins changed."""
        changed = False
        for i, dimension in enumerate(self.dimensions):
            if dimension.range is not None:
                continue
            value, lo, hi = values[i], self.lo[i], self.hi[i]
            if lo is None or hi is None:
                self.lo[i] = self.hi[i] = value
                changed = True
            elif value < lo or value > hi:
                span = max(hi, value) - min(lo, value)
                self.lo[i] = min(lo, value - HEADROOM * span) if value < lo else lo
                self.hi[i] = max(hi, value + HEADROOM * span) if value > hi else hi
                changed = True
        if changed:
            self._rescale()
        return changed

    def cell(self, values: tuple[float, ...]) -> tuple[int, ...]:
        cell = []
        for value, (lo, per_unit, last) in zip(values, self._scales):
            index = int((value - lo) * per_unit)
            cell.append(0 if index < 0 else last if index > last else index)
        return tuple(cell)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"name": d.name, "bins": d.bins, "lo": self.lo[i], "hi": self.hi[i], "adaptive": d.range is None}
            for i, d in enumerate(self.dimensions)
        ]


class Island:
    """One island: its grid (cell -> best program), every ok program it holds (for
    ``random`` parents) and its latest failure reasons (for feedback in prompts)."""

    __slots__ = ("index", "cells", "ok_ids", "failures", "_ranked")

    def __init__(self, index: int) -> None:
        self.index = index
        self.cells: dict[tuple[int, ...], Elite] = {}
        self.ok_ids = array("q")
        self.failures: deque[int] = deque(maxlen=FAILURES_KEPT)
        self._ranked: list[Elite] | None = None

    def would_take(self, elite: Elite, cell: tuple[int, ...]) -> bool:
        incumbent = self.cells.get(cell)
        return incumbent is None or elite.beats(incumbent)

    def place(self, elite: Elite, cell: tuple[int, ...]) -> bool:
        if not self.would_take(elite, cell):
            return False
        self.cells[cell] = elite
        elite.cell = cell
        self._ranked = None
        return True

    def rebin(self, binner: Binner) -> None:
        elites = sorted(self.cells.values(), key=lambda e: e.id)
        self.cells = {}
        self._ranked = None
        for elite in elites:
            self.place(elite, binner.cell(elite.features))

    def ranked(self) -> list[Elite]:
        """Elites best first (ties: newer first), cached until the grid changes."""
        if self._ranked is None:
            self._ranked = sorted(self.cells.values(), key=lambda e: (-e.score, -e.id))
        return self._ranked

    def snapshot(self) -> dict[str, Any]:
        ranked = self.ranked()
        return {
            "island": self.index,
            "programs": len(self.ok_ids),
            "best": {"id": ranked[0].id, "score": ranked[0].score} if ranked else None,
            "cells": [
                {"cell": list(cell), "id": elite.id, "score": elite.score}
                for cell, elite in sorted(self.cells.items())
            ],
        }

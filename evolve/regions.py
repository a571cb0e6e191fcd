"""EVOLVE-BLOCK regions: the parts of a program a mutation may change.

A program marks what may evolve with comment lines containing ``EVOLVE-BLOCK-START``
and ``EVOLVE-BLOCK-END``. Everything else is frozen: the evaluator relies on it. Both
the LLM edits and the offline mutator go through this module so that "outside the
region" means the same thing everywhere.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

START_MARKER = "EVOLVE-BLOCK-START"
END_MARKER = "EVOLVE-BLOCK-END"


class RegionError(ValueError):
    """The program's EVOLVE-BLOCK markers are missing, unbalanced or nested."""


@dataclass(frozen=True)
class Region:
    """One evolvable region: ``body`` is the text strictly between the marker lines."""

    index: int
    start_line: int  # 0-based index of the START marker line
    end_line: int  # 0-based index of the END marker line
    body: str


@dataclass(frozen=True)
class RegionedProgram:
    """A program split into frozen text and evolvable regions."""

    lines: tuple[str, ...]
    regions: tuple[Region, ...]

    @property
    def code(self) -> str:
        return "".join(self.lines)

    def with_bodies(self, bodies: list[str]) -> str:
        """Return the program text with each region's body replaced, markers kept."""
        if len(bodies) != len(self.regions):
            raise RegionError(f"expected {len(self.regions)} region bodies, got {len(bodies)}")
        out: list[str] = []
        cursor = 0
        for region, body in zip(self.regions, bodies):
            out.extend(self.lines[cursor : region.start_line + 1])
            if body and not body.endswith("\n"):
                body += "\n"
            out.append(body)
            cursor = region.end_line
        out.extend(self.lines[cursor:])
        return "".join(out)


def split_regions(code: str) -> RegionedProgram:
    """Find the EVOLVE-BLOCK regions of ``code``.

    A program without markers is treated as one region covering the whole file, as
    OpenEvolve does, so that a plain script can still be evolved.
    """
    lines = tuple(code.splitlines(keepends=True))
    regions: list[Region] = []
    open_at: int | None = None
    for i, line in enumerate(lines):
        if START_MARKER in line:
            if open_at is not None:
                raise RegionError(f"line {i + 1}: {START_MARKER} inside an open region (opened at line {open_at + 1})")
            open_at = i
        elif END_MARKER in line:
            if open_at is None:
                raise RegionError(f"line {i + 1}: {END_MARKER} without a matching {START_MARKER}")
            body = "".join(lines[open_at + 1 : i])
            regions.append(Region(len(regions), open_at, i, body))
            open_at = None
    if open_at is not None:
        raise RegionError(f"line {open_at + 1}: {START_MARKER} is never closed by {END_MARKER}")
    if not regions:
        whole = ("# " + START_MARKER + "\n",) + lines + ("# " + END_MARKER + "\n",)
        return RegionedProgram(whole, (Region(0, 0, len(whole) - 1, "".join(lines)),))
    return RegionedProgram(lines, tuple(regions))


def has_markers(code: str) -> bool:
    return START_MARKER in code and END_MARKER in code


def frozen_text(code: str) -> str:
    """The program with every region body removed: equal iff no frozen line changed."""
    program = split_regions(code)
    return program.with_bodies([""] * len(program.regions))


def check_parses(code: str) -> None:
    """Raise SyntaxError with a useful message when ``code`` is not valid Python."""
    ast.parse(code)

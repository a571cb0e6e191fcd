"""EVOLVE-BLOCK regions: the parts of a program a mutation may change.

A program marks what may evolve with comment lines holding ``EVOLVE-BLOCK-START`` and
``EVOLVE-BLOCK-END`` (in any spelling ``evaluators.markers`` accepts). Everything else is
frozen: the evaluator relies on it. Both the LLM edits and the offline mutator go through
this module so that "outside the region" means the same thing everywhere.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

from evolve.evaluators.markers import (
    END_MARKER,
    START_MARKER,
    comment_of,
    guess_language,
    has_markers,
    is_end,
    is_start,
)

__all__ = [
    "END_MARKER",
    "START_MARKER",
    "Region",
    "RegionError",
    "RegionedProgram",
    "check_parses",
    "cut_regions",
    "frozen_text",
    "has_markers",
    "holds_frozen_code",
    "loose_lines",
    "same_frame",
    "split_lines",
    "split_regions",
    "top_level_defs",
]

_TOP_LEVEL_DEF = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)")


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
    marked: bool = True  # False: the file had no markers and ``lines`` carries two added ones

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

    def frozen_segments(self) -> list[tuple[str, ...]]:
        """The frozen lines before, between and after the regions, marker lines left out."""
        segments: list[tuple[str, ...]] = []
        cursor = 0
        for region in self.regions:
            segments.append(self.lines[cursor : region.start_line])
            cursor = region.end_line + 1
        segments.append(self.lines[cursor:])
        return segments


def split_lines(code: str) -> list[str]:
    """The lines of ``code`` with their endings, split at newlines only.

    ``str.splitlines`` also splits at form feeds and other separators that may sit inside
    a string literal, which would move region boundaries.
    """
    parts = code.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def split_regions(code: str, language: str = "python") -> RegionedProgram:
    """Find the EVOLVE-BLOCK regions of ``code``.

    A program without markers is treated as one region covering the whole file, as
    OpenEvolve does, so that a plain script can still be evolved; the two markers added
    around it are comments of ``language``.
    """
    lines = tuple(split_lines(code))
    regions: list[Region] = []
    open_at: int | None = None
    for i, line in enumerate(lines):
        if is_start(line):
            if open_at is not None:
                raise RegionError(f"line {i + 1}: {START_MARKER} inside an open region (opened at line {open_at + 1})")
            open_at = i
        elif is_end(line):
            if open_at is None:
                raise RegionError(f"line {i + 1}: {END_MARKER} without a matching {START_MARKER}")
            body = "".join(lines[open_at + 1 : i])
            regions.append(Region(len(regions), open_at, i, body))
            open_at = None
    if open_at is not None:
        raise RegionError(f"line {open_at + 1}: {START_MARKER} is never closed by {END_MARKER}")
    if not regions:
        if lines and not lines[-1].endswith("\n"):
            lines = lines[:-1] + (lines[-1] + "\n",)
        comment = comment_of(language)
        whole = (f"{comment} {START_MARKER}\n",) + lines + (f"{comment} {END_MARKER}\n",)
        return RegionedProgram(whole, (Region(0, 0, len(whole) - 1, "".join(lines)),), marked=False)
    return RegionedProgram(lines, tuple(regions))


def frozen_text(code: str) -> str:
    """The program with every region body removed: equal iff no frozen line changed."""
    program = split_regions(code)
    return program.with_bodies([""] * len(program.regions))


def loose_lines(lines: Sequence[str]) -> list[str]:
    """Lines compared up to whitespace: blank lines dropped, trailing blanks and line ends cut."""
    return [line.rstrip() for line in lines if line.strip()]


def same_frame(program: RegionedProgram, other: RegionedProgram) -> bool | None:
    """Whether ``other`` has the frozen lines of ``program``: True byte for byte (line ends
    aside), False up to whitespace, None when they differ or the regions do not pair up."""
    if len(other.regions) != len(program.regions):
        return None
    ours, theirs = program.frozen_segments(), other.frozen_segments()
    if [[line.rstrip("\r\n") for line in s] for s in ours] == [[line.rstrip("\r\n") for line in s] for s in theirs]:
        return True
    return False if [loose_lines(s) for s in ours] == [loose_lines(s) for s in theirs] else None


def cut_regions(program: RegionedProgram, text: str) -> list[str] | None:
    """The region bodies of ``text``, a whole program written without markers, found
    between its frozen segments; None unless every segment occurs once, in order, unchanged
    but for whitespace (a region between two others needs frozen lines to end it)."""
    lines = split_lines(text)
    kept = [k for k, line in enumerate(lines) if line.strip()]
    loose = [lines[k].rstrip() for k in kept]
    segments = [loose_lines(s) for s in program.frozen_segments()]
    first, last = segments[0], segments[-1]
    tail = len(loose) - len(last)
    if loose[: len(first)] != first or loose[tail:] != last or tail < len(first):
        return None
    cuts = [(0, len(first))]
    for segment in segments[1:-1]:
        found = [k for k in range(cuts[-1][1], tail - len(segment) + 1) if loose[k : k + len(segment)] == segment]
        if not segment or len(found) != 1:
            return None
        cuts.append((found[0], found[0] + len(segment)))
    cuts.append((tail, len(loose)))
    return ["".join(lines[kept[begin] : kept[end - 1] + 1]) if end > begin else ""
            for (_, begin), (end, _) in zip(cuts, cuts[1:])]


def top_level_defs(program: RegionedProgram) -> tuple[set[str], set[str]]:
    """Names defined at column 0 by ``def``/``class``: in frozen lines, and in region lines."""
    inside = {i for r in program.regions for i in range(r.start_line + 1, r.end_line)}
    frozen: set[str] = set()
    regions: set[str] = set()
    for i, line in enumerate(program.lines):
        match = _TOP_LEVEL_DEF.match(line)
        if match:
            (regions if i in inside else frozen).add(match.group(1))
    return frozen, regions


def holds_frozen_code(program: RegionedProgram, text: str) -> bool:
    """Whether ``text``, written without markers, carries the program's frozen code: it
    defines a top-level name the frozen lines define, or holds every frozen line."""
    frozen_names = top_level_defs(program)[0]
    names = top_level_defs(split_regions(text))[1]
    frozen_lines = [line for segment in program.frozen_segments() for line in loose_lines(segment)]
    have = set(loose_lines(split_lines(text)))
    return bool(names & frozen_names) or len(frozen_lines) >= 3 and all(line in have for line in frozen_lines)


def check_parses(code: str, language: str | None = None) -> None:
    """Raise SyntaxError with a useful message when ``code`` is Python and does not parse.

    Only Python is checked here; a compiled language's build is its quick check. Without
    ``language`` the comment syntax of the program's markers decides.
    """
    if (language or guess_language(code)) == "python":
        ast.parse(code)

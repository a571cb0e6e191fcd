"""Where a SEARCH text lies in a program: exactly, or failing that at the one place it
matches once trailing blanks, tabs or one uniform indentation level are ignored.

A looser match is accepted only when it is unique and inside an EVOLVE-BLOCK region; the
REPLACE text is then shifted back to the program's indentation. Every other case is an
``EditError`` saying why, because guessing the place would hide a bad edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from evolve.edit_repairs import INDENTATION, TABS, TRAILING_WHITESPACE, EditError
from evolve.regions import RegionedProgram

# Matching tiers, tried in order: (repair, tab widths, whether a uniform shift is allowed).
_TIERS: tuple[tuple[str, tuple[int, ...], bool], ...] = (
    (TRAILING_WHITESPACE, (0,), False),
    (TABS, (4, 8), False),
    (INDENTATION, (4, 8), True),
)


def line_text(line: str) -> str:
    """The line without its ending, so CRLF and LF lines compare equal."""
    return line.rstrip("\r\n")


def _quote(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"[... {len(text) - limit} more characters]\n"


def measure(line: str, width: int) -> tuple[int, str]:
    """Indentation width (tabs to the next multiple of ``width``) and the rest of the line."""
    column = 0
    for k, char in enumerate(line):
        if char == " ":
            column += 1
        elif char == "\t":
            column += width - column % width
        else:
            return column, line[k:].rstrip()
    return column, ""


def _indent_unit(lines: tuple[str, ...], width: int) -> int:
    """The program's indentation step: a shift by anything else is not a lost level."""
    code = [measure(line, width) for line in lines if line.strip()]
    for (opener, text), (inner, _) in zip(code, code[1:]):
        if text.endswith(":") and inner > opener:
            return inner - opener
    return 4


def _shift(program: list[str], search: list[str], width: int, unit: int) -> int | None:
    """The indentation ``program`` adds to ``search`` line by line, if uniform and a multiple
    of ``unit`` (0 when ``unit`` is 0: no shift allowed)."""
    delta: int | None = None
    for have, want in zip(program, search):
        if width == 0:
            if have.rstrip() != want.rstrip():
                return None
            continue
        (hw, hr), (ww, wr) = measure(have, width), measure(want, width)
        if hr != wr:
            return None
        if not hr:
            continue
        if delta is None:
            delta = hw - ww
        if hw - ww != delta or (delta and (not unit or delta % unit)):
            return None
    return delta or 0


@dataclass(frozen=True)
class Match:
    """Where a SEARCH text matched: its first line, the tab width the comparison used (-1:
    exact, 0: ignoring trailing blanks), the indentation the program adds, and whether the
    lines lie inside a region (False: they touch frozen code)."""

    start: int
    width: int
    delta: int
    in_region: bool


def _anchored(program: RegionedProgram, start: int, size: int, anchors: tuple[bool, bool]) -> bool | None:
    """True when lines [start, start+size) lie in one region body (and touch the anchored
    marker lines), False when they touch frozen code, None when an anchor is not met."""
    for region in program.regions:
        if region.start_line < start and start + size <= region.end_line:
            if (anchors[0] and start != region.start_line + 1) or (anchors[1] and start + size != region.end_line):
                return None
            return True
    return None if any(anchors) else False


def _matches(program: RegionedProgram, search: list[str], tier: tuple[str, tuple[int, ...], bool] | None,
             anchors: tuple[bool, bool]) -> list[Match]:
    contents = [line_text(line) for line in program.lines]
    size = len(search)
    found: dict[int, Match] = {}
    for width in tier[1] if tier else (-1,):
        unit = _indent_unit(program.lines, width) if tier and tier[2] else 0
        for start in range(len(contents) - size + 1):
            if start in found:
                continue
            window = contents[start : start + size]
            if width < 0:
                delta = 0 if window == search else None
            else:
                delta = _shift(window, search, width, unit)
            if delta is None:
                continue
            placed = _anchored(program, start, size, anchors)
            if placed is not None:
                found[start] = Match(start, width, delta, placed)
    return [found[k] for k in sorted(found)]


def locate(
    program: RegionedProgram, search: list[str], anchors: tuple[bool, bool], number: int
) -> tuple[Match, str | None]:
    """The one place the SEARCH lines match, and the repair the match needed."""
    exact = _matches(program, search, None, anchors)
    inside = [m for m in exact if m.in_region]
    shown = _quote("".join(line + "\n" for line in search))
    if len(inside) > 1:
        raise EditError(
            f"block {number}: the SEARCH text occurs {len(inside)} times; add surrounding lines so it "
            f"matches exactly once. SEARCH was:\n{shown}"
        )
    if inside:
        return inside[0], None
    if exact:
        raise EditError(
            f"block {number}: the SEARCH text lies (partly) outside the EVOLVE-BLOCK regions; "
            "only code between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END may change"
        )
    for tier in _TIERS:
        loose = _matches(program, search, tier, anchors)
        if len(loose) == 1 and loose[0].in_region:
            return loose[0], tier[0]
        if len(loose) == 1:
            raise EditError(
                f"block {number}: the SEARCH text matches only code outside the EVOLVE-BLOCK regions "
                f"(ignoring {tier[0].replace('_', ' ')}); only code between the markers may change"
            )
        if loose:
            raise EditError(
                f"block {number}: the SEARCH text does not occur exactly, and ignoring {tier[0].replace('_', ' ')} "
                f"it matches {len(loose)} places; copy the current lines exactly. SEARCH was:\n{shown}"
            )
    raise EditError(
        f"block {number}: the SEARCH text does not occur in the program; copy the current lines "
        f"exactly, including indentation. SEARCH was:\n{shown}"
    )


def reindent(lines: list[str], match: Match, use_tabs: bool, number: int) -> list[str]:
    """The REPLACE lines shifted by the match's indentation and written in the program's indent style."""
    if match.width <= 0:
        return lines
    out = []
    for line in lines:
        column, rest = measure(line, match.width)
        if not rest:
            out.append("")
            continue
        column += match.delta
        if column < 0:
            raise EditError(f"block {number}: the REPLACE text cannot be re-indented to the program's indentation")
        indent = "\t" * (column // match.width) + " " * (column % match.width) if use_tabs else " " * column
        out.append(indent + rest)
    return out

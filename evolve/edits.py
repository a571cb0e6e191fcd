"""Strict application of model edits to the EVOLVE-BLOCK regions of a program.

Two formats: SEARCH/REPLACE blocks (diff mode) and a full rewrite of the regions
(rewrite mode). Anything doubtful is an ``EditError`` whose message is shown to the
model in the repair turn, so every message says what was wrong and how to fix it. A
silent no-op or a guess about what the model meant would hide bad edits from the search.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from evolve.regions import (
    END_MARKER,
    START_MARKER,
    RegionedProgram,
    RegionError,
    check_parses,
    frozen_text,
    has_markers,
    split_regions,
)

SEARCH_MARK = "<<<<<<< SEARCH"
DIVIDER_MARK = "======="
REPLACE_MARK = ">>>>>>> REPLACE"
MARKS = (SEARCH_MARK, DIVIDER_MARK, REPLACE_MARK)

_FENCE = re.compile(r"^```[^\n`]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


class EditError(ValueError):
    """An edit could not be applied; the message is the reason given back to the model."""


@dataclass(frozen=True)
class DiffBlock:
    search: str
    replace: str

    def render(self) -> str:
        return f"{SEARCH_MARK}\n{self.search}{DIVIDER_MARK}\n{self.replace}{REPLACE_MARK}\n"


@dataclass(frozen=True)
class EditResult:
    """The new program, the unified diff from the parent, and the edit as parsed."""

    code: str
    diff: str
    parsed_edit: str


def _section(lines: list[str], i: int, end: str, number: int, missing: str) -> tuple[list[str], int]:
    """The lines from ``i`` up to the ``end`` mark, and the index after it; any other mark
    first means the block is malformed."""
    text = []
    while i < len(lines) and not _is_mark(lines[i], end):
        if any(_is_mark(lines[i], mark) for mark in MARKS if mark != end):
            raise EditError(f"block {number}: '{lines[i].strip()}' before the '{end}' line")
        text.append(lines[i])
        i += 1
    if i == len(lines):
        raise EditError(f"block {number}: {missing}")
    return text, i + 1


def _is_mark(line: str, mark: str) -> bool:
    return line.strip() == mark


def parse_diff_blocks(text: str) -> list[DiffBlock]:
    """Read every SEARCH/REPLACE block of a reply, refusing half-written ones."""
    lines = text.splitlines(keepends=True)
    blocks: list[DiffBlock] = []
    i = 0
    while i < len(lines):
        if not _is_mark(lines[i], SEARCH_MARK):
            if _is_mark(lines[i], DIVIDER_MARK) or _is_mark(lines[i], REPLACE_MARK):
                raise EditError(
                    f"block {len(blocks) + 1}: '{lines[i].strip()}' without a preceding '{SEARCH_MARK}' line"
                )
            i += 1
            continue
        number = len(blocks) + 1
        search, i = _section(lines, i + 1, DIVIDER_MARK, number, f"missing the '{DIVIDER_MARK}' line after the SEARCH text")
        replace, i = _section(lines, i, REPLACE_MARK, number, f"missing the closing '{REPLACE_MARK}' line")
        if not "".join(search).strip():
            raise EditError(f"block {number}: the SEARCH text is empty; copy the exact lines to replace")
        blocks.append(DiffBlock(_with_newline("".join(search)), _with_newline("".join(replace))))
    if not blocks:
        raise EditError(
            f"no SEARCH/REPLACE block found; write each change as '{SEARCH_MARK}', the exact current "
            f"lines, '{DIVIDER_MARK}', the new lines, '{REPLACE_MARK}'"
        )
    return blocks


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _unified(parent: str, child: str) -> str:
    return "".join(
        difflib.unified_diff(
            parent.splitlines(keepends=True), child.splitlines(keepends=True), "parent", "child", n=2
        )
    )


def _finish(parent: str, child: str, parsed_edit: str) -> EditResult:
    if child == parent:
        raise EditError("the edit leaves the program unchanged; change the code inside the EVOLVE-BLOCK regions")
    try:
        check_parses(child)
    except SyntaxError as exc:
        raise EditError(f"the edited program does not parse: {exc.msg} at line {exc.lineno}") from None
    return EditResult(child, _unified(parent, child), parsed_edit)


def _regions_of(code: str) -> RegionedProgram:
    try:
        return split_regions(code)
    except RegionError as exc:
        raise EditError(f"the parent's EVOLVE-BLOCK markers are broken: {exc}") from None


def _rebuild(code: str, program: RegionedProgram, bodies: list[str]) -> str:
    """The program with new bodies; an unmarked program stays unmarked."""
    if any(START_MARKER in body or END_MARKER in body for body in bodies):
        raise EditError("the edit adds an EVOLVE-BLOCK marker; markers must stay where they are")
    child = program.with_bodies(bodies)
    if has_markers(code):
        return child
    return "".join(child.splitlines(keepends=True)[1:-1])


def _quote(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"[... {len(text) - limit} more characters]\n"


def _line_matches(text: str, search: str) -> list[int]:
    """Offsets where ``search`` occurs starting at the beginning of a line."""
    found: list[int] = []
    at = text.find(search)
    while at != -1:
        if at == 0 or text[at - 1] == "\n":
            found.append(at)
        at = text.find(search, at + 1)
    return found


def apply_blocks(code: str, blocks: list[DiffBlock]) -> EditResult:
    """Apply blocks in order; each SEARCH must match whole lines exactly once inside the regions."""
    program = _regions_of(code)
    bodies = [region.body for region in program.regions]
    for number, block in enumerate(blocks, start=1):
        hits = [(k, _line_matches(body, block.search)) for k, body in enumerate(bodies)]
        total = sum(len(found) for _, found in hits)
        if total == 0:
            if _line_matches(code, block.search):
                raise EditError(
                    f"block {number}: the SEARCH text lies (partly) outside the EVOLVE-BLOCK regions; "
                    "only code between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END may change"
                )
            raise EditError(
                f"block {number}: the SEARCH text does not occur in the program; copy the current lines "
                f"exactly, including indentation. SEARCH was:\n{_quote(block.search)}"
            )
        if total > 1:
            raise EditError(
                f"block {number}: the SEARCH text occurs {total} times; add surrounding lines so it "
                f"matches exactly once. SEARCH was:\n{_quote(block.search)}"
            )
        k, (at,) = next((k, found) for k, found in hits if found)
        bodies[k] = bodies[k][:at] + block.replace + bodies[k][at + len(block.search) :]
    parsed = "".join(block.render() for block in blocks)
    return _finish(code, _rebuild(code, program, bodies), parsed)


def apply_diff(code: str, reply: str) -> EditResult:
    """Parse a reply's SEARCH/REPLACE blocks and apply them strictly to ``code``."""
    return apply_blocks(code, parse_diff_blocks(reply))


def code_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks of a reply, in order."""
    return [_with_newline(match.group(1)) for match in _FENCE.finditer(text)]


def apply_rewrite(code: str, reply: str) -> EditResult:
    """Replace the regions' bodies with the reply's code blocks.

    The reply holds either one fenced block per region, in order, or one block with the
    whole program including its markers; in the latter case nothing outside the regions
    may differ from the parent.
    """
    program = _regions_of(code)
    blocks = code_blocks(reply)
    if not blocks:
        raise EditError("no fenced code block found; put the new code of each region in its own ```python block")
    if len(blocks) == 1 and has_markers(blocks[0]):
        child = blocks[0]
        try:
            same_frame = frozen_text(child) == frozen_text(code)
            same_count = len(split_regions(child).regions) == len(program.regions)
        except RegionError as exc:
            raise EditError(f"the rewritten program's EVOLVE-BLOCK markers are broken: {exc}") from None
        if not (same_frame and same_count):
            raise EditError(
                "the rewrite changes code outside the EVOLVE-BLOCK regions; keep every line outside "
                "EVOLVE-BLOCK-START/EVOLVE-BLOCK-END exactly as it is"
            )
        return _finish(code, child, child)
    if any(has_markers(block) for block in blocks):
        raise EditError("a code block contains EVOLVE-BLOCK markers; give only the code between the markers")
    if len(blocks) != len(program.regions):
        raise EditError(
            f"expected {len(program.regions)} code block(s), one per EVOLVE-BLOCK region in order, "
            f"got {len(blocks)}"
        )
    return _finish(code, _rebuild(code, program, blocks), "".join(f"```python\n{b}```\n" for b in blocks))

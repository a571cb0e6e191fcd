"""Application of model edits to the EVOLVE-BLOCK regions of a program.

Two formats: SEARCH/REPLACE blocks (diff mode) and a full rewrite of the regions
(rewrite mode). A reply whose intent is unambiguous but whose text is slightly off (an
indentation level lost, trailing blanks, CRLF, the unchanged marker lines copied into
SEARCH and REPLACE, a whole program re-emitted) is repaired, and the repair is named on
the result so the next prompt can tell the model. Anything doubtful is an ``EditError``
whose message is shown to the model in the repair turn: a guess about what the model
meant, or a silent no-op, would hide bad edits from the search. docs/edits.md lists
every case and its outcome.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from evaluators.markers import is_end, is_marker, is_start
from evolve.regions import (
    RegionedProgram,
    RegionError,
    check_parses,
    cut_regions,
    holds_frozen_code,
    loose_lines,
    same_frame,
    split_lines,
    split_regions,
    top_level_defs,
)

SEARCH_MARK = "<<<<<<< SEARCH"
DIVIDER_MARK = "======="
REPLACE_MARK = ">>>>>>> REPLACE"

# The repairs an edit may need, by the name recorded on the result, and what each did.
CRLF = "crlf"
BLOCK_MARKS = "block_marks"
DIVIDER_CLOSE = "divider_closes_replace"
MARKER_LINES = "marker_lines"
TRAILING_WHITESPACE = "trailing_whitespace"
TABS = "tabs"
INDENTATION = "indentation"
FROZEN_WHITESPACE = "frozen_whitespace"
WHOLE_FILE = "whole_file_without_markers"
REPAIRS = {
    CRLF: "CRLF line endings were read as plain newlines",
    BLOCK_MARKS: "a SEARCH or REPLACE mark was spelt with the wrong number of < or > signs",
    DIVIDER_CLOSE: "a REPLACE section closed by '=======' instead of '>>>>>>> REPLACE'",
    MARKER_LINES: "SEARCH and REPLACE both carried the unchanged EVOLVE-BLOCK marker lines",
    TRAILING_WHITESPACE: "SEARCH lines differed from the program in trailing or whitespace-only lines",
    TABS: "SEARCH lines used tabs where the program uses spaces, or the reverse",
    INDENTATION: "SEARCH lines were shifted by one uniform indentation; REPLACE was shifted back",
    FROZEN_WHITESPACE: "the rewritten program's frozen lines differed from the parent's only in whitespace",
    WHOLE_FILE: "the whole program was re-emitted without its EVOLVE-BLOCK markers; its regions were cut out",
}

# The program row's artifact that lists, comma-separated, the repairs its edit needed:
# the row has no column of its own for them, and the next prompt tells the model.
REPAIRS_ARTIFACT = "edit_repairs"

_SEARCH_LINE = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER_LINE = re.compile(r"^\s*={5,9}\s*$")
_REPLACE_LINE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
_FENCE = re.compile(r"^```[^\n`]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_FENCE_LINE = re.compile(r"^```", re.MULTILINE)
_ELISION = re.compile(
    r"^\s*(?:#|//)\s*(?:\.\.\.|…)"
    r"|^\s*(?:#|//)\s*\(?\s*(?:the\s+)?(?:rest|remainder)\s+of\s+(?:the\s+)?(?:code|function|file|method|class|"
    r"program|implementation|loop|body)\b"
    r"|^\s*(?:#|//).*\bexisting\s+(?:code|logic|implementation)\b"
    r"|^\s*(?:\.\.\.|…)\s*$",
    re.IGNORECASE,
)
# Matching tiers, tried in order: (repair, tab widths, whether a uniform shift is allowed).
_TIERS: tuple[tuple[str, tuple[int, ...], bool], ...] = (
    (TRAILING_WHITESPACE, (0,), False),
    (TABS, (4, 8), False),
    (INDENTATION, (4, 8), True),
)


class EditError(ValueError):
    """An edit could not be applied; the message is the reason given back to the model."""


@dataclass(frozen=True)
class DiffBlock:
    search: str
    replace: str
    repairs: tuple[str, ...] = ()

    def render(self) -> str:
        return f"{SEARCH_MARK}\n{self.search}{DIVIDER_MARK}\n{self.replace}{REPLACE_MARK}\n"


@dataclass(frozen=True)
class EditResult:
    """The new program, the unified diff from the parent, the edit as parsed, and the
    repairs (names in ``REPAIRS``) it needed."""

    code: str
    diff: str
    parsed_edit: str
    repairs: tuple[str, ...] = ()


def _mark(line: str, loose: bool = False) -> tuple[str, bool] | None:
    """Which block mark ``line`` is, and whether it is spelt exactly. A divider of another
    length counts only when ``loose`` (its block's SEARCH mark was misspelt too): a line of
    '=' signs may be a docstring underline."""
    stripped = line.strip()
    if stripped == DIVIDER_MARK or (loose and _DIVIDER_LINE.match(line)):
        return DIVIDER_MARK, stripped == DIVIDER_MARK
    if _SEARCH_LINE.match(line):
        return SEARCH_MARK, stripped == SEARCH_MARK
    if _REPLACE_LINE.match(line):
        return REPLACE_MARK, stripped == REPLACE_MARK
    return None


def _next_mark(lines: list[str], i: int, loose: bool) -> str | None:
    return next((found[0] for line in lines[i:] if (found := _mark(line, loose))), None)


def _section(lines: list[str], i: int, number: int, replace: bool, loose: bool) -> tuple[list[str], int, set[str]]:
    """The lines of a SEARCH (up to '=======') or REPLACE section (up to '>>>>>>> REPLACE',
    or a second '=======' not followed by one), the index after it, and the repairs."""
    end = REPLACE_MARK if replace else DIVIDER_MARK
    text: list[str] = []
    while i < len(lines):
        found = _mark(lines[i], loose)
        if found is None:
            text.append(lines[i])
            i += 1
            continue
        mark, exact = found
        if mark == end:
            return text, i + 1, set() if exact else {BLOCK_MARKS}
        if replace and mark == DIVIDER_MARK and _next_mark(lines, i + 1, loose) != REPLACE_MARK:
            return text, i + 1, {DIVIDER_CLOSE}
        raise EditError(f"block {number}: '{lines[i].strip()}' before the '{end}' line")
    if replace:
        raise EditError(f"block {number}: missing the closing '{REPLACE_MARK}' line (was the reply cut off?)")
    raise EditError(f"block {number}: missing the '{DIVIDER_MARK}' line after the SEARCH text")


def _lf(text: str) -> tuple[str, bool]:
    return (text.replace("\r\n", "\n"), True) if "\r\n" in text else (text, False)


def parse_diff_blocks(text: str) -> list[DiffBlock]:
    """Read every SEARCH/REPLACE block of a reply, refusing half-written ones."""
    text, crlf = _lf(text)
    lines = split_lines(text)
    blocks: list[DiffBlock] = []
    i = 0
    while i < len(lines):
        found = _mark(lines[i])
        if found is None:
            i += 1
            continue
        number = len(blocks) + 1
        if found[0] != SEARCH_MARK:
            raise EditError(f"block {number}: '{lines[i].strip()}' without a preceding '{SEARCH_MARK}' line")
        repairs = {CRLF} if crlf else set()
        if not found[1]:
            repairs.add(BLOCK_MARKS)
        search, i, more = _section(lines, i + 1, number, False, not found[1])
        replace, i, most = _section(lines, i, number, True, not found[1])
        if not "".join(search).strip():
            raise EditError(f"block {number}: the SEARCH text is empty; copy the exact lines to replace")
        repairs |= more | most
        texts = (_with_newline("".join(search)), _with_newline("".join(replace)))
        blocks.append(DiffBlock(*texts, tuple(sorted(repairs))))
    if not blocks:
        raise EditError(
            f"no SEARCH/REPLACE block found; write each change as '{SEARCH_MARK}', the exact current "
            f"lines, '{DIVIDER_MARK}', the new lines, '{REPLACE_MARK}'"
        )
    return blocks


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _content(line: str) -> str:
    return line.rstrip("\r\n")


def _unified(parent: str, child: str) -> str:
    lines = (parent.splitlines(keepends=True), child.splitlines(keepends=True))
    return "".join(difflib.unified_diff(*lines, "parent", "child", n=2))


def _finish(parent: str, child: str, parsed_edit: str, repairs: set[str]) -> EditResult:
    if loose_lines(split_lines(child)) == loose_lines(split_lines(parent)):
        raise EditError(
            "the edit leaves the program unchanged (but for blank lines or trailing spaces); change the code "
            "inside the EVOLVE-BLOCK regions"
        )
    try:
        check_parses(child)
    except SyntaxError as exc:
        raise EditError(f"the edited program does not parse: {exc.msg} at line {exc.lineno}") from None
    before, after = (top_level_defs(split_regions(code)) for code in (parent, child))
    doubled = sorted((after[0] & after[1]) - (before[0] & before[1]))
    if doubled:
        raise EditError(
            f"the edit defines {', '.join(doubled)} inside an EVOLVE-BLOCK region while the frozen code defines "
            "it too (frozen code re-emitted?); write only the code between the markers"
        )
    return EditResult(child, _unified(parent, child), parsed_edit, tuple(sorted(repairs)))


def _regions_of(code: str) -> RegionedProgram:
    try:
        return split_regions(code)
    except RegionError as exc:
        raise EditError(f"the parent's EVOLVE-BLOCK markers are broken: {exc}") from None


def _eol(code: str) -> str:
    """The program's line ending: new lines are written with it so a CRLF seed stays CRLF."""
    return "\r\n" if code.count("\r\n") * 2 > code.count("\n") else "\n"


def _quote(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"[... {len(text) - limit} more characters]\n"


def _check_no_elision(new: list[str], parent: str, where: str) -> None:
    """Refuse '# ... existing code ...' lines the parent does not have: applied, they delete code."""
    known = {line.strip() for line in split_lines(parent)}
    for line in new:
        if _ELISION.search(line) and line.strip() not in known:
            raise EditError(
                f"{where} elides code with '{line.strip()}'; write out every line, the reply replaces "
                "the text literally"
            )


def _measure(line: str, width: int) -> tuple[int, str]:
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
    code = [_measure(line, width) for line in lines if line.strip()]
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
        (hw, hr), (ww, wr) = _measure(have, width), _measure(want, width)
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
class _Match:
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
             anchors: tuple[bool, bool]) -> list[_Match]:
    contents = [_content(line) for line in program.lines]
    size = len(search)
    found: dict[int, _Match] = {}
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
                found[start] = _Match(start, width, delta, placed)
    return [found[k] for k in sorted(found)]


def _locate(
    program: RegionedProgram, search: list[str], anchors: tuple[bool, bool], number: int
) -> tuple[_Match, str | None]:
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


def _strip_marker_lines(search: list[str], replace: list[str]) -> tuple[list[str], list[str], tuple[bool, bool]]:
    """Drop an unchanged START (END) marker line leading (ending) both SEARCH and REPLACE."""
    start = bool(search and replace and is_start(search[0]) and is_start(replace[0]))
    if start:
        search, replace = search[1:], replace[1:]
    end = bool(search and replace and is_end(search[-1]) and is_end(replace[-1]))
    if end:
        search, replace = search[:-1], replace[:-1]
    return search, replace, (start, end)


def _reindent(lines: list[str], match: _Match, use_tabs: bool, number: int) -> list[str]:
    """The REPLACE lines shifted by the match's indentation and written in the program's indent style."""
    if match.width <= 0:
        return lines
    out = []
    for line in lines:
        column, rest = _measure(line, match.width)
        if not rest:
            out.append("")
            continue
        column += match.delta
        if column < 0:
            raise EditError(f"block {number}: the REPLACE text cannot be re-indented to the program's indentation")
        indent = "\t" * (column // match.width) + " " * (column % match.width) if use_tabs else " " * column
        out.append(indent + rest)
    return out


def _apply_block(code: str, block: DiffBlock, number: int, eol: str, repairs: set[str]) -> str:
    program = _regions_of(code)
    search = [_content(line) for line in split_lines(block.search)]
    replace = [_content(line) for line in split_lines(block.replace)]
    search, replace, anchors = _strip_marker_lines(search, replace)
    if any(anchors):
        repairs.add(MARKER_LINES)
    if not search:
        raise EditError(f"block {number}: the SEARCH text holds only EVOLVE-BLOCK marker lines; copy lines to replace")
    _check_no_elision(search, code, f"block {number}: the SEARCH text")
    match, repair = _locate(program, search, anchors, number)
    if any(is_marker(line) for line in replace):
        raise EditError("the edit adds an EVOLVE-BLOCK marker; markers must stay where they are")
    if repair:
        repairs.add(repair)
    _check_no_elision(replace, code, f"block {number}: the REPLACE text")
    window = program.lines[match.start : match.start + len(search)]
    use_tabs = any(line.startswith("\t") for line in window)
    new: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, search, replace, autojunk=False).get_opcodes():
        if tag == "equal":
            new.extend(window[i1:i2])
        else:
            new.extend(line + eol for line in _reindent(replace[j1:j2], match, use_tabs, number))
    lines = list(program.lines)
    lines[match.start : match.start + len(search)] = new
    return "".join(lines)


def apply_blocks(code: str, blocks: list[DiffBlock]) -> EditResult:
    """Apply blocks in order; each SEARCH must match whole lines of the regions at exactly one place."""
    program = _regions_of(code)
    eol = _eol(code)
    repairs = {CRLF} if eol == "\r\n" else set()
    work = program.code
    for number, block in enumerate(blocks, start=1):
        repairs.update(block.repairs)
        work = _apply_block(work, block, number, eol, repairs)
    if not program.marked:
        work = "".join(split_lines(work)[1:-1])
    parsed = "".join(block.render() for block in blocks)
    return _finish(code, work, parsed, repairs)


def apply_diff(code: str, reply: str) -> EditResult:
    """Parse a reply's SEARCH/REPLACE blocks and apply them to ``code``."""
    return apply_blocks(code, parse_diff_blocks(reply))


def code_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks of a reply, in order."""
    return [_with_newline(match.group(1)) for match in _FENCE.finditer(text)]


def _whole_file_bodies(program: RegionedProgram, child: str, repairs: set[str]) -> list[str]:
    """The region bodies of a rewrite that re-emits the whole program with its markers."""
    try:
        rewritten = split_regions(child)
    except RegionError as exc:
        raise EditError(f"the rewritten program's EVOLVE-BLOCK markers are broken: {exc}") from None
    kept = same_frame(program, rewritten)
    if kept is None:
        raise EditError(
            "the rewrite changes code outside the EVOLVE-BLOCK regions; keep every line outside "
            "EVOLVE-BLOCK-START/EVOLVE-BLOCK-END exactly as it is"
        )
    if not kept:
        repairs.add(FROZEN_WHITESPACE)
    return [region.body for region in rewritten.regions]


def _rewrite_bodies(program: RegionedProgram, blocks: list[str], repairs: set[str]) -> list[str]:
    if len(blocks) == 1 and any(is_start(line) for line in split_lines(blocks[0])):
        return _whole_file_bodies(program, blocks[0], repairs)
    if any(is_marker(line) for block in blocks for line in split_lines(block)):
        raise EditError("a code block contains EVOLVE-BLOCK markers; give only the code between the markers")
    if program.marked and len(blocks) == 1 and holds_frozen_code(program, blocks[0]):
        bodies = cut_regions(program, blocks[0])
        if bodies is None:
            raise EditError(
                "the code block re-emits the whole program without its EVOLVE-BLOCK markers, and its frozen "
                "lines cannot be matched to the parent's; give only the code between the markers, one block "
                "per region, or the whole program with its markers and every frozen line as it is"
            )
        repairs.add(WHOLE_FILE)
        return bodies
    if len(blocks) != len(program.regions):
        raise EditError(
            f"expected {len(program.regions)} code block(s), one per EVOLVE-BLOCK region in order, "
            f"got {len(blocks)}"
        )
    return [_indent_like(region.body, block, repairs) for region, block in zip(program.regions, blocks)]


def _indent_like(body: str, block: str, repairs: set[str]) -> str:
    """The block shifted to the region's indentation, as a region inside a class needs."""
    def least(text: str) -> int:
        return min((_measure(line, 8)[0] for line in split_lines(text) if line.strip()), default=0)

    lines = split_lines(block)
    delta = least(body) - least(block)
    if not delta or not body.strip() or any(line[: len(line) - len(line.lstrip())].count("\t") for line in lines):
        return block
    repairs.add(INDENTATION)
    return "".join(" " * (_measure(line, 8)[0] + delta) + line.lstrip(" ") if line.strip() else line for line in lines)


def apply_rewrite(code: str, reply: str) -> EditResult:
    """Replace the regions' bodies with the reply's code blocks.

    The reply holds either one fenced block per region, in order, or one block with the
    whole program; in the latter case nothing outside the regions may differ from the
    parent but whitespace, and the parent's frozen lines are kept byte for byte.
    """
    program = _regions_of(code)
    reply, crlf = _lf(reply)
    eol = _eol(code)
    repairs = {CRLF} if crlf or eol == "\r\n" else set()
    if len(_FENCE_LINE.findall(reply)) % 2:
        raise EditError("the reply ends inside an unclosed ``` code block (was it cut off?); close every code block")
    blocks = code_blocks(reply)
    if not blocks:
        raise EditError("no fenced code block found; put the new code of each region in its own ```python block")
    bodies = _rewrite_bodies(program, blocks, repairs)
    for body in bodies:
        _check_no_elision(split_lines(body), code, "the rewrite")
    if eol == "\r\n":
        bodies = [body.replace("\n", "\r\n") for body in bodies]
    child = program.with_bodies(bodies)
    if not program.marked:
        child = "".join(split_lines(child)[1:-1])
    return _finish(code, child, "".join(f"```python\n{b}```\n" for b in blocks), repairs)

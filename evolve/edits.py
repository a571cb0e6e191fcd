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

from evolve.edit_repairs import (
    BLOCK_MARKS,
    CRLF,
    DIVIDER_CLOSE,
    FROZEN_WHITESPACE,
    INDENTATION,
    MARKER_LINES,
    WHOLE_FILE,
    EditError,
)
from evolve.evaluators.markers import fence_name, guess_language, is_end, is_marker, is_start
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
from evolve.search_match import line_text, locate, measure, reindent

SEARCH_MARK = "<<<<<<< SEARCH"
DIVIDER_MARK = "======="
REPLACE_MARK = ">>>>>>> REPLACE"

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
    repairs (names in ``evolve.edit_repairs.REPAIRS``) it needed."""

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


def _unified(parent: str, child: str) -> str:
    lines = (parent.splitlines(keepends=True), child.splitlines(keepends=True))
    return "".join(difflib.unified_diff(*lines, "parent", "child", n=2))


def _finish(parent: str, child: str, parsed_edit: str, repairs: set[str], language: str | None = None) -> EditResult:
    if loose_lines(split_lines(child)) == loose_lines(split_lines(parent)):
        raise EditError(
            "the edit leaves the program unchanged (but for blank lines or trailing spaces); change the code "
            "inside the EVOLVE-BLOCK regions"
        )
    try:
        check_parses(child, language)
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


def _check_no_elision(new: list[str], parent: str, where: str) -> None:
    """Refuse '# ... existing code ...' lines the parent does not have: applied, they delete code."""
    known = {line.strip() for line in split_lines(parent)}
    for line in new:
        if _ELISION.search(line) and line.strip() not in known:
            raise EditError(
                f"{where} elides code with '{line.strip()}'; write out every line, the reply replaces "
                "the text literally"
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


def _apply_block(code: str, block: DiffBlock, number: int, eol: str, repairs: set[str]) -> str:
    program = _regions_of(code)
    search = [line_text(line) for line in split_lines(block.search)]
    replace = [line_text(line) for line in split_lines(block.replace)]
    search, replace, anchors = _strip_marker_lines(search, replace)
    if any(anchors):
        repairs.add(MARKER_LINES)
    if not search:
        raise EditError(f"block {number}: the SEARCH text holds only EVOLVE-BLOCK marker lines; copy lines to replace")
    _check_no_elision(search, code, f"block {number}: the SEARCH text")
    match, repair = locate(program, search, anchors, number)
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
            new.extend(line + eol for line in reindent(replace[j1:j2], match, use_tabs, number))
    lines = list(program.lines)
    lines[match.start : match.start + len(search)] = new
    return "".join(lines)


def apply_blocks(code: str, blocks: list[DiffBlock], language: str | None = None) -> EditResult:
    """Apply blocks in order; each SEARCH must match whole lines of the regions at exactly one place.

    ``language`` is the program's (problem.yaml's candidate.language); without it the
    comment syntax of the markers decides whether the Python parse check applies.
    """
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
    return _finish(code, work, parsed, repairs, language)


def apply_diff(code: str, reply: str, language: str | None = None) -> EditResult:
    """Parse a reply's SEARCH/REPLACE blocks and apply them to ``code``."""
    return apply_blocks(code, parse_diff_blocks(reply), language)


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
        return min((measure(line, 8)[0] for line in split_lines(text) if line.strip()), default=0)

    lines = split_lines(block)
    delta = least(body) - least(block)
    if not delta or not body.strip() or any(line[: len(line) - len(line.lstrip())].count("\t") for line in lines):
        return block
    repairs.add(INDENTATION)
    return "".join(" " * (measure(line, 8)[0] + delta) + line.lstrip(" ") if line.strip() else line for line in lines)


def apply_rewrite(code: str, reply: str, language: str | None = None) -> EditResult:
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
        raise EditError("no fenced code block found; put the new code of each region in its own ``` code block")
    bodies = _rewrite_bodies(program, blocks, repairs)
    for body in bodies:
        _check_no_elision(split_lines(body), code, "the rewrite")
    if eol == "\r\n":
        bodies = [body.replace("\n", "\r\n") for body in bodies]
    child = program.with_bodies(bodies)
    if not program.marked:
        child = "".join(split_lines(child)[1:-1])
    fence = fence_name(language or guess_language(code))
    return _finish(code, child, "".join(f"```{fence}\n{b}```\n" for b in blocks), repairs, language)

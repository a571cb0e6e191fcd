"""The edit corpus: realistic model replies of every kind the edit code must handle.

Each case in tests/evolve/edit_corpus/*.yaml names a parent program, a reply, and what
must happen: applied, giving the parent with the listed (old, new) replacements made (the
expected child is built here by plain string replacement, independently of the edit
code), with the listed repairs; or refused with a reason. docs/edits.md tabulates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from evolve.edit_repairs import REPAIRS, EditError
from evolve.edits import EditResult, apply_diff, apply_rewrite

CORPUS = Path(__file__).with_name("edit_corpus")
KEYS = {"id", "program", "mode", "reply", "expect", "changes", "repairs", "reason", "note",
        "program_crlf", "reply_crlf", "trailing_spaces", "reply_tabs"}
# The categories issue 16 names; every one must have cases.
CATEGORIES = {"exact", "indentation", "whitespace", "tabs", "crlf", "marker_lines", "block_marks",
              "rewrite_whole_file", "program_markers", "duplicate_search", "frozen_edit", "elision",
              "truncated", "no_op"}
OUTCOMES = ("applied", "refused rightly", "refused wrongly", "applied wrongly")


@dataclass(frozen=True)
class Case:
    category: str
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.category}/{self.spec['id']}"

    def parent(self) -> str:
        code = (CORPUS / "programs" / self.spec["program"]).read_text()
        return code.replace("\n", "\r\n") if self.spec.get("program_crlf") else code

    def reply(self) -> str:
        lines = self.spec["reply"].split("\n")
        if "trailing_spaces" in self.spec:
            lines = [line + "   " if self.spec["trailing_spaces"] in line else line for line in lines]
        if "reply_tabs" in self.spec:
            width = self.spec["reply_tabs"]
            lines = [_tabs(line, width) for line in lines]
        text = "\n".join(lines)
        return text.replace("\n", "\r\n") if self.spec.get("reply_crlf") else text

    def expected_child(self) -> str:
        code = (CORPUS / "programs" / self.spec["program"]).read_text()
        for old, new in self.spec["changes"]:
            assert code.count(old) == 1, f"{self.name}: {old!r} must occur once in the parent"
            code = code.replace(old, new)
        return code.replace("\n", "\r\n") if self.spec.get("program_crlf") else code


def _tabs(line: str, width: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return "\t" * (spaces // width) + " " * (spaces % width) + line.lstrip(" ")


def load_corpus() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        cases += [Case(data["category"], spec) for spec in data["cases"]]
    return cases


def apply_case(case: Case, apply: Callable[[str, str, str], EditResult] | None = None) -> EditResult:
    if apply is not None:
        return apply(case.spec["mode"], case.parent(), case.reply())
    edit = apply_diff if case.spec["mode"] == "diff" else apply_rewrite
    return edit(case.parent(), case.reply())


def outcome(case: Case, apply: Callable[[str, str, str], EditResult] | None = None) -> str:
    """Which of OUTCOMES the edit code gives for ``case`` (a refusal's wording is not judged here)."""
    try:
        result = apply_case(case, apply)
    except EditError:
        return "refused rightly" if case.spec["expect"] == "refused" else "refused wrongly"
    if case.spec["expect"] == "applied" and result.code == case.expected_child():
        return "applied"
    return "applied wrongly"


def tally(apply: Callable[[str, str, str], EditResult] | None = None) -> dict[str, dict[str, int]]:
    """Outcome counts per category, for the table in docs/edits.md."""
    table: dict[str, dict[str, int]] = {}
    for case in load_corpus():
        row = table.setdefault(case.category, dict.fromkeys(OUTCOMES, 0))
        row[outcome(case, apply)] += 1
    return table


CASES = load_corpus()


def test_the_corpus_covers_every_category_with_well_formed_cases():
    assert {case.category for case in CASES} == CATEGORIES
    for case in CASES:
        assert set(case.spec) <= KEYS, f"{case.name}: unknown keys {set(case.spec) - KEYS}"
        assert case.spec["mode"] in ("diff", "rewrite") and case.spec["expect"] in ("applied", "refused")
        assert ("changes" in case.spec) == (case.spec["expect"] == "applied"), case.name
        assert set(case.spec.get("repairs", [])) <= set(REPAIRS), case.name
    assert len({case.name for case in CASES}) == len(CASES)
    assert sum(case.spec["expect"] == "applied" for case in CASES) >= 20
    assert sum(case.spec["expect"] == "refused" for case in CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_case(case: Case):
    if case.spec["expect"] == "refused":
        with pytest.raises(EditError) as refusal:
            apply_case(case)
        assert case.spec["reason"] in str(refusal.value)
        return
    result = apply_case(case)
    assert result.code == case.expected_child()
    assert sorted(result.repairs) == sorted(case.spec["repairs"])

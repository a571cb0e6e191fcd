import pytest

from evolve.edits import EditError, apply_diff, apply_rewrite, parse_diff_blocks
from evolve.regions import frozen_text, split_regions
from evolve.search_match import locate, reindent


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_parse_reads_several_blocks_and_ignores_prose():
    reply = "Idea: tweak.\n" + block("a = 1\n", "a = 2\n") + "and also\n" + block("b = 1\n", "")
    blocks = parse_diff_blocks(reply)
    assert [(b.search, b.replace) for b in blocks] == [("a = 1\n", "a = 2\n"), ("b = 1\n", "")]


@pytest.mark.parametrize(
    "reply, reason",
    [
        ("no edits here", "no SEARCH/REPLACE block"),
        ("<<<<<<< SEARCH\na = 1\n>>>>>>> REPLACE\n", "before the '=======' line"),
        ("<<<<<<< SEARCH\na = 1\n", "missing the '======='"),
        ("<<<<<<< SEARCH\na = 1\n=======\na = 2\n", "missing the closing"),
        ("=======\na = 2\n>>>>>>> REPLACE\n", "without a preceding"),
        ("<<<<<<< SEARCH\n\n=======\na = 2\n>>>>>>> REPLACE\n", "SEARCH text is empty"),
        ("<<<<<<< SEARCH\na\n=======\nb\n<<<<<<< SEARCH\n", "before the '>>>>>>> REPLACE'"),
    ],
)
def test_parse_rejects_malformed_blocks(reply, reason):
    with pytest.raises(EditError, match=reason.replace("(", r"\(")):
        parse_diff_blocks(reply)


def test_diff_edits_two_regions_and_keeps_frozen_text(program_code):
    reply = block("    return -slack * 1.0\n", "    return -slack * 2.0\n") + block("THRESHOLD = 5\n", "THRESHOLD = 9\n")
    result = apply_diff(program_code, reply)
    assert "return -slack * 2.0" in result.code and "THRESHOLD = 9" in result.code
    assert "return -slack * 1.0" not in result.code
    assert frozen_text(result.code) == frozen_text(program_code)
    assert "-    return -slack * 1.0" in result.diff and "+THRESHOLD = 9" in result.diff
    assert result.parsed_edit.count("<<<<<<< SEARCH") == 2


def test_blocks_apply_in_order_on_the_edited_text(program_code):
    reply = block("THRESHOLD = 5\n", "THRESHOLD = 6\n") + block("THRESHOLD = 6\n", "THRESHOLD = 7\n")
    assert "THRESHOLD = 7" in apply_diff(program_code, reply).code


def test_search_missing_is_a_failure(program_code):
    with pytest.raises(EditError, match="does not occur"):
        apply_diff(program_code, block("    return slack\n", "    return 0\n"))


def test_search_with_wrong_indentation_does_not_match(program_code):
    with pytest.raises(EditError, match="does not occur"):
        apply_diff(program_code, block("return -slack * 1.0\n", "return 0\n").replace("SEARCH\nreturn", "SEARCH\n  return"))


def test_search_occurring_twice_is_a_failure():
    code = "# EVOLVE-BLOCK-START\nx = 1\ny = 2\nx = 1\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EditError, match="occurs 2 times"):
        apply_diff(code, block("x = 1\n", "x = 3\n"))


def test_search_occurring_once_in_each_of_two_regions_is_ambiguous():
    code = "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\ny = 0\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EditError, match="occurs 2 times"):
        apply_diff(code, block("x = 1\n", "x = 3\n"))


def test_edit_of_frozen_code_is_a_failure(program_code):
    with pytest.raises(EditError, match="outside the EVOLVE-BLOCK regions"):
        apply_diff(program_code, block("    scores = priority(item, bins)\n", "    scores = 0\n"))


def test_unchanged_marker_line_in_search_and_replace_is_dropped(program_code):
    search = "    return -slack * 1.0\n# EVOLVE-BLOCK-END\n"
    result = apply_diff(program_code, block(search, "    return 0\n# EVOLVE-BLOCK-END\n"))
    assert result.code == program_code.replace("return -slack * 1.0", "return 0")
    assert result.repairs == ("marker_lines",)


def test_edit_removing_a_marker_is_a_failure(program_code):
    search = "    return -slack * 1.0\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EditError, match="outside the EVOLVE-BLOCK regions"):
        apply_diff(program_code, block(search, "    return 0\n"))


def test_edit_spanning_frozen_code_between_markers_is_a_failure(program_code):
    search = "    return -slack * 1.0\n# EVOLVE-BLOCK-END\n\n\ndef choose(item, bins):\n"
    with pytest.raises(EditError, match="outside the EVOLVE-BLOCK regions"):
        apply_diff(program_code, block(search, search.replace("1.0", "2.0")))


def test_edit_adding_a_marker_is_a_failure(program_code):
    with pytest.raises(EditError, match="adds an EVOLVE-BLOCK marker"):
        apply_diff(program_code, block("THRESHOLD = 5\n", "THRESHOLD = 5\n# EVOLVE-BLOCK-END\n"))


def test_result_that_does_not_parse_is_a_failure(program_code):
    with pytest.raises(EditError, match="does not parse"):
        apply_diff(program_code, block("THRESHOLD = 5\n", "THRESHOLD = (5\n"))


def test_edit_that_changes_nothing_is_a_failure(program_code):
    with pytest.raises(EditError, match="unchanged"):
        apply_diff(program_code, block("THRESHOLD = 5\n", "THRESHOLD = 5\n"))


def test_unmarked_program_is_one_region_and_stays_unmarked():
    code = "def f(x):\n    return x + 1\n"
    result = apply_diff(code, block("    return x + 1\n", "    return x + 2\n"))
    assert result.code == "def f(x):\n    return x + 2\n"


def test_rewrite_replaces_each_region_in_order(program_code):
    reply = "New idea.\n```python\ndef priority(item, bins):\n    return bins\n```\nThen:\n```python\nTHRESHOLD = 2\n```\n"
    result = apply_rewrite(program_code, reply)
    bodies = [r.body for r in split_regions(result.code).regions]
    assert bodies == ["def priority(item, bins):\n    return bins\n", "THRESHOLD = 2\n"]
    assert frozen_text(result.code) == frozen_text(program_code)


def test_rewrite_with_wrong_number_of_blocks_is_a_failure(program_code):
    with pytest.raises(EditError, match="expected 2 code block"):
        apply_rewrite(program_code, "```python\nTHRESHOLD = 2\n```\n")


def test_rewrite_without_code_block_is_a_failure(program_code):
    with pytest.raises(EditError, match="no fenced code block"):
        apply_rewrite(program_code, "THRESHOLD = 2")


def test_rewrite_as_whole_program_is_accepted_when_frozen_text_is_kept(program_code):
    child = program_code.replace("THRESHOLD = 5", "THRESHOLD = 8")
    result = apply_rewrite(program_code, f"```python\n{child}```")
    assert result.code == child


def test_rewrite_as_whole_program_changing_frozen_text_is_a_failure(program_code):
    child = program_code.replace("import math", "import os")
    with pytest.raises(EditError, match="outside the EVOLVE-BLOCK regions"):
        apply_rewrite(program_code, f"```python\n{child}```")


def test_rewrite_blocks_carrying_markers_are_a_failure(program_code):
    reply = "```python\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n```\n```python\nTHRESHOLD = 1\n```\n"
    with pytest.raises(EditError, match="contains EVOLVE-BLOCK markers"):
        apply_rewrite(program_code, reply)


def test_rewrite_that_does_not_parse_is_a_failure(program_code):
    with pytest.raises(EditError, match="does not parse"):
        apply_rewrite(program_code, "```python\ndef priority(:\n```\n```python\nTHRESHOLD = 1\n```\n")


def test_exact_edit_needs_no_repair(program_code):
    assert apply_diff(program_code, block("THRESHOLD = 5\n", "THRESHOLD = 6\n")).repairs == ()


def test_misspelt_marks_are_read_and_named():
    blocks = parse_diff_blocks("<<<<<<<< SEARCH\na\n========\nb\n>>>>>>>> REPLACE\n")
    assert [(b.search, b.replace, b.repairs) for b in blocks] == [("a\n", "b\n", ("block_marks",))]


def test_a_line_of_eight_equals_signs_is_text_in_a_well_spelt_block():
    blocks = parse_diff_blocks("<<<<<<< SEARCH\na\n========\n=======\nb\n>>>>>>> REPLACE\n")
    assert [(b.search, b.replace) for b in blocks] == [("a\n========\n", "b\n")]


def test_divider_closes_replace_only_when_no_replace_mark_follows():
    blocks = parse_diff_blocks("<<<<<<< SEARCH\na\n=======\nb\n=======\nprose\n")
    assert [(b.search, b.replace, b.repairs) for b in blocks] == [("a\n", "b\n", ("divider_closes_replace",))]
    with pytest.raises(EditError, match="'=======' before the '>>>>>>> REPLACE' line"):
        parse_diff_blocks("<<<<<<< SEARCH\na\n=======\nb\n=======\nc\n>>>>>>> REPLACE\n")


def test_reindented_search_shifts_the_replace_back():
    code = "class A:\n    # EVOLVE-BLOCK-START\n    def f(self):\n        return 1\n    # EVOLVE-BLOCK-END\n"
    result = apply_diff(code, block("def f(self):\n    return 1\n", "def f(self):\n    x = 2\n    return x\n"))
    assert result.code == code.replace("        return 1\n", "        x = 2\n        return x\n")
    assert result.repairs == ("indentation",)


def test_a_shift_that_is_not_an_indentation_step_does_not_match():
    code = "# EVOLVE-BLOCK-START\ndef f():\n    return 1\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(EditError, match="does not occur"):
        apply_diff(code, block("  return 1\n", "  return 2\n"))


def test_unchanged_lines_keep_the_programs_own_whitespace():
    code = "# EVOLVE-BLOCK-START\ndef f():\n    a = 1   \n    \n    return a\n# EVOLVE-BLOCK-END\n"
    result = apply_diff(code, block("    a = 1\n\n    return a\n", "    a = 1\n\n    return a + 1\n"))
    assert result.code == code.replace("    return a\n", "    return a + 1\n")
    assert result.repairs == ("trailing_whitespace",)


def test_crlf_program_stays_crlf_and_keeps_its_frozen_bytes(program_code):
    crlf = program_code.replace("\n", "\r\n")
    result = apply_diff(crlf, block("THRESHOLD = 5\n", "THRESHOLD = 6\nLIMIT = 2\n"))
    assert result.code == crlf.replace("THRESHOLD = 5\r\n", "THRESHOLD = 6\r\nLIMIT = 2\r\n")
    assert result.repairs == ("crlf",)


def test_whitespace_only_change_is_unchanged(program_code):
    with pytest.raises(EditError, match="unchanged"):
        apply_diff(program_code, block("THRESHOLD = 5\n", "THRESHOLD = 5   \n\n"))


def test_rewrite_with_whitespace_in_the_frozen_part_keeps_the_parents_frozen_bytes(program_code):
    child = program_code.replace("THRESHOLD = 5", "THRESHOLD = 8")
    child = child.replace("\n\n\ndef choose(item, bins):", "\ndef choose(item, bins):  ")
    result = apply_rewrite(program_code, f"```python\n{child}```")
    assert result.code == program_code.replace("THRESHOLD = 5", "THRESHOLD = 8")
    assert result.repairs == ("frozen_whitespace",)


def test_rewrite_of_the_whole_file_without_markers_is_cut_into_regions(program_code):
    child = program_code.replace("THRESHOLD = 5", "THRESHOLD = 8").replace("return -slack * 1.0", "return -slack")
    unmarked = "".join(line for line in child.splitlines(keepends=True) if "EVOLVE-BLOCK" not in line)
    result = apply_rewrite(program_code, f"```python\n{unmarked}```")
    assert result.code == child
    assert result.repairs == ("whole_file_without_markers",)


def test_region_redefining_a_frozen_function_is_a_failure(program_code):
    reply = block("THRESHOLD = 5\n", "THRESHOLD = 5\n\n\ndef choose(item, bins):\n    return 0\n")
    with pytest.raises(EditError, match="defines choose inside an EVOLVE-BLOCK region"):
        apply_diff(program_code, reply)


def test_unmarked_program_without_final_newline():
    result = apply_diff("x = 1\ny = 2", block("y = 2\n", "y = 3\n"))
    assert result.code == "x = 1\ny = 3\n"


def test_locate_names_the_looser_tier_a_unique_match_needed():
    code = "class A:\n    # EVOLVE-BLOCK-START\n    def f(self):\n\treturn 1\n    # EVOLVE-BLOCK-END\n"
    program = split_regions(code)
    exact, repair = locate(program, ["    def f(self):"], (False, False), 1)
    assert (exact.start, exact.in_region, repair) == (2, True, None)
    tabbed, repair = locate(program, ["        return 1"], (False, False), 1)
    assert (tabbed.start, repair) == (3, "tabs")
    shifted, repair = locate(program, ["def f(self):", "    return 1"], (False, False), 1)
    assert (shifted.start, shifted.delta, repair) == (2, 4, "indentation")
    assert reindent(["x = 2"], shifted, use_tabs=False, number=1) == ["    x = 2"]
    with pytest.raises(EditError, match="outside the EVOLVE-BLOCK regions"):
        locate(program, ["class A:"], (False, False), 1)

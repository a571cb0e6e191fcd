"""Programs in other languages: markers in their comment syntax, prompts that name and fence
the language, edits applied as text, and the Python parse check for Python alone."""

import dataclasses

import pytest

from evolve.edits import EditError, apply_diff, apply_rewrite
from evolve.evaluators.markers import guess_language, has_markers
from evolve.prompts import render_messages
from evolve.regions import check_parses, split_regions

CPP = """#include <vector>

// EVOLVE-BLOCK-START
double priority(double item, double bin) {
    return -(bin - item) * 1.0;
}
// EVOLVE-BLOCK-END

int main() { return 0; }
"""

RUST = "use std::io;\n// EVOLVE-BLOCK-START\nfn sort(v: &mut Vec<i32>) { v.sort(); }\n// EVOLVE-BLOCK-END\nfn main() {}\n"


@pytest.mark.parametrize("start, end, language", [
    ("// EVOLVE-BLOCK-START", "// EVOLVE-BLOCK-END", "cpp"),
    ("/* EVOLVE-BLOCK-START */", "/* EVOLVE-BLOCK-END */", "c"),
    ("-- EVOLVE-BLOCK-START", "-- EVOLVE-BLOCK-END", "lua"),
    ("# EVOLVE-BLOCK-START", "# EVOLVE-BLOCK-END", "python"),
])
def test_markers_are_read_in_each_comment_syntax(start, end, language):
    code = f"head\n{start}\nbody line\n{end}\ntail\n"
    assert has_markers(code)
    program = split_regions(code)
    assert [r.body for r in program.regions] == ["body line\n"]
    assert guess_language(code) == language


def test_rust_markers_are_told_apart_from_cpp():
    assert guess_language(RUST) == "rust"
    assert guess_language(CPP) == "cpp"


def test_an_unmarked_program_gets_markers_in_its_own_comment_syntax():
    program = split_regions("int x = 1;\n", language="cpp")
    assert program.lines[0] == "// EVOLVE-BLOCK-START\n" and program.lines[-1] == "// EVOLVE-BLOCK-END\n"


def test_the_parse_check_is_for_python_only():
    check_parses(CPP)
    check_parses("x <- c(1, 2)\n", language="r")
    with pytest.raises(SyntaxError):
        check_parses("def f(:\n")


def test_a_diff_applies_to_cpp_text():
    reply = "<<<<<<< SEARCH\n    return -(bin - item) * 1.0;\n=======\n    return -(bin - item) * 2.5;\n>>>>>>> REPLACE\n"
    child = apply_diff(CPP, reply).code
    assert "* 2.5;" in child and child.endswith("int main() { return 0; }\n")


def test_a_rewrite_applies_to_cpp_text_and_a_diff_outside_the_region_is_refused():
    reply = "Idea.\n```cpp\ndouble priority(double item, double bin) {\n    return bin;\n}\n```\n"
    child = apply_rewrite(CPP, reply).code
    assert "return bin;" in child and child.startswith("#include <vector>\n")
    with pytest.raises(EditError):
        apply_diff(CPP, "<<<<<<< SEARCH\nint main() { return 0; }\n=======\nint main() { return 1; }\n>>>>>>> REPLACE\n")


def test_prompts_name_the_language_and_fence_code_with_it(make_request):
    request = make_request()
    cpp = dataclasses.replace(request, parent=dataclasses.replace(request.parent, code=CPP))
    system, user = render_messages(cpp, "rewrite")
    assert "written in C++" in system["content"] and "valid Python" not in system["content"]
    assert "```cpp\n#include <vector>" in user["content"] and "```cpp code block" in user["content"]
    system, user = render_messages(request, "diff")
    assert "valid Python" in system["content"] and "```python\n" in user["content"]


def test_an_edit_told_the_language_skips_the_python_parse_check_for_r():
    r_program = "# EVOLVE-BLOCK-START\nfit <- function(x) {\n  median(x)\n}\n# EVOLVE-BLOCK-END\n"
    reply = "<<<<<<< SEARCH\n  median(x)\n=======\n  mean(x, trim = 0.1)\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match="does not parse"):
        apply_diff(r_program, reply)  # '#' markers, no language given: read as Python
    assert "trim = 0.1" in apply_diff(r_program, reply, language="r").code
    rewritten = apply_rewrite(r_program, "```r\nfit <- function(x) x\n```\n", language="r")
    assert "fit <- function(x) x" in rewritten.code and rewritten.parsed_edit.startswith("```r\n")

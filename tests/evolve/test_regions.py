"""EVOLVE-BLOCK regions: what may change and what must stay byte-identical."""

import pytest

from evolve.regions import RegionError, cut_regions, frozen_text, same_frame, split_lines, split_regions

TWO = """import numpy as np
# EVOLVE-BLOCK-START
def a(x):
    return x + 1
# EVOLVE-BLOCK-END
FROZEN = 3
# EVOLVE-BLOCK-START
def b(x):
    return x * 2
# EVOLVE-BLOCK-END
"""


def test_finds_every_region_and_round_trips():
    program = split_regions(TWO)
    assert [r.body for r in program.regions] == ["def a(x):\n    return x + 1\n", "def b(x):\n    return x * 2\n"]
    assert program.code == TWO
    assert program.with_bodies([r.body for r in program.regions]) == TWO


def test_replacing_bodies_keeps_frozen_text():
    program = split_regions(TWO)
    changed = program.with_bodies(["def a(x):\n    return 0\n", "def b(x):\n    return 1"])
    assert "return 0" in changed and "return 1\n" in changed
    assert frozen_text(changed) == frozen_text(TWO)
    assert frozen_text(TWO.replace("FROZEN = 3", "FROZEN = 4")) != frozen_text(TWO)


@pytest.mark.parametrize(
    "code, message",
    [
        ("# EVOLVE-BLOCK-START\nx = 1\n", "never closed"),
        ("x = 1\n# EVOLVE-BLOCK-END\n", "without a matching"),
        ("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n", "inside an open region"),
    ],
)
def test_broken_markers_are_errors(code, message):
    with pytest.raises(RegionError, match=message):
        split_regions(code)


def test_a_file_without_markers_is_one_region():
    program = split_regions("x = 1\ny = 2\n")
    assert len(program.regions) == 1
    assert program.regions[0].body == "x = 1\ny = 2\n"


@pytest.mark.parametrize("start, end", [("# EVOLVE-BLOCK START", "# EVOLVE-BLOCK END"),
                                        ("# EVOLVE_BLOCK_START", "# EVOLVE_BLOCK_END")])
def test_marker_spellings_of_other_frameworks_are_read(start, end):
    code = f"x = 0\n{start}\ny = 1\n{end}\n"
    assert [r.body for r in split_regions(code).regions] == ["y = 1\n"]


def test_lines_split_only_at_newlines():
    code = "s = 'a\x0cb'\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
    assert split_lines(code)[0] == "s = 'a\x0cb'\n"
    assert split_regions(code).regions[0].start_line == 1


def test_same_frame_tells_exact_from_whitespace_from_different():
    program = split_regions(TWO)
    assert same_frame(program, split_regions(TWO.replace("def a(x):", "def a(y):"))) is True
    assert same_frame(program, split_regions(TWO.replace("FROZEN = 3\n", "FROZEN = 3  \n\n"))) is False
    assert same_frame(program, split_regions(TWO.replace("FROZEN = 3", "FROZEN = 4"))) is None


def test_cut_regions_finds_bodies_between_frozen_segments():
    unmarked = "".join(line for line in TWO.splitlines(keepends=True) if "EVOLVE" not in line)
    assert cut_regions(split_regions(TWO), unmarked) == ["def a(x):\n    return x + 1\n", "def b(x):\n    return x * 2\n"]
    assert cut_regions(split_regions(TWO), unmarked.replace("FROZEN = 3", "FROZEN = 4")) is None
    assert cut_regions(split_regions(TWO), unmarked.replace("FROZEN = 3\n", "FROZEN = 3\nFROZEN = 3\n")) is None

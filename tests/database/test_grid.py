import pytest

from evolve.database import ArchiveError, FeatureDimension
from evolve.database.features import ast_complexity, code_hash, feature_values, line_edit_distance, normalise_code
from evolve.database.grid import Binner, Elite, Island


def test_fixed_range_bins_and_clamps():
    binner = Binner([FeatureDimension(name="gap", bins=4, range=(0.0, 1.0))])
    assert binner.observe((0.3,)) is False
    assert [binner.cell((v,)) for v in (-5.0, 0.0, 0.3, 0.5, 0.99, 1.0, 7.0)] == [
        (0,), (0,), (1,), (2,), (3,), (3,), (3,)
    ]


def test_adaptive_range_grows_with_headroom():
    binner = Binner([FeatureDimension(name="length", bins=10)])
    assert binner.observe((100.0,)) is True
    assert binner.cell((100.0,)) == (0,)
    assert binner.observe((200.0,)) is True
    assert (binner.lo[0], binner.hi[0]) == (100.0, pytest.approx(210.0))
    assert binner.observe((205.0,)) is False
    assert binner.cell((150.0,)) == (4,)


def test_cell_keeps_its_best_program_and_rebin_keeps_the_better():
    binner = Binner([FeatureDimension(name="f", bins=2)])
    island = Island(0)
    programs = [Elite(1, 1.0, (0.0,), b"a"), Elite(2, 3.0, (10.0,), b"b"), Elite(3, 2.0, (1.0,), b"c")]
    for elite in programs[:2]:
        binner.observe(elite.features)
        island.rebin(binner)
        island.place(elite, binner.cell(elite.features))
    assert {c: e.id for c, e in island.cells.items()} == {(0,): 1, (1,): 2}
    assert island.place(programs[2], binner.cell(programs[2].features)) is True  # beats 1 in cell 0
    assert island.place(Elite(4, 0.5, (0.5,), b"d"), (0,)) is False
    assert [e.id for e in island.ranked()] == [2, 3]
    binner.observe((-100.0,))  # widening merges everything into the upper bin
    island.rebin(binner)
    assert {c: e.id for c, e in island.cells.items()} == {(1,): 2}


def test_normalised_code_ignores_formatting_and_comments():
    a = "def f(x):\n    # doubles\n    return 2 * x   \n\n"
    b = "// header\ndef f(x):\n\n    return 2 * x"
    assert normalise_code(a) == normalise_code(b) == "def f(x):\n    return 2 * x"
    assert code_hash(a) == code_hash(b) != code_hash("def f(x):\n    return 3 * x")


def test_builtin_features():
    seed = "def f(x):\n    return x\n"
    child = "def f(x):\n    y = x * 2\n    return y\n"
    assert line_edit_distance(seed, seed) == 0
    assert line_edit_distance(child, seed) == 2
    assert ast_complexity(child) > ast_complexity(seed) > 0
    assert ast_complexity("int main() { return 0; }") == 6  # tokens: not Python
    values = feature_values(["length", "complexity", "edit_distance", "gap"], child, {"gap": 0.25}, seed)
    assert values == {"length": float(len(child)), "complexity": float(ast_complexity(child)),
                      "edit_distance": 2.0, "gap": 0.25}


def test_unknown_or_non_numeric_feature_is_explained():
    with pytest.raises(ArchiveError, match="neither a built-in feature.*metrics: gap"):
        feature_values(["speed"], "x = 1", {"gap": 1.0}, None)
    with pytest.raises(ArchiveError, match="finite number"):
        feature_values(["gap"], "x = 1", {"gap": "fast"}, None)

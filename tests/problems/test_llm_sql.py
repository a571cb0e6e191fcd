import os
import random
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from evolve.evaluators.candidate_server import copy_public
from evolve.evaluators.channel import open_candidate
from evolve.evaluators.contract import CandidateFailed, InvalidProgram
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from tests.support.problem_files import load_problem_file

ROOT = Path(__file__).resolve().parents[2] / "problems" / "llm_sql"
PROBLEM = load_problem("llm_sql")

evaluator = load_problem_file("llm_sql")
prefix_hits = sys.modules["prefix_hits"]
row_check = sys.modules["row_check"]
tables = sys.modules["tables"]

# The leaderboard's evaluator (UCB-ADRS/ADRS-Leaderboard f856497, problems/llm_sql/evaluator.py)
# run on beer.csv alone with beer's merge group, pandas 2.3.3 and 3.1.1 alike: hit rates in percent.
BEER_ORIGINAL_ORDER = 14.622030323162654
BEER_REFERENCE = 14.429368128759631  # merged, original order: the 0 point of the score
BEER_ORIGINAL_ORDER_NORMALIZED = 0.22514990270601884
PUBLISHED_ON_BEER = {"LEVI": 53.25762448747058, "openevolve": 69.81063542862275, "shinkaevolve": 70.73511457809136,
                     "gepa": 70.73511457809136, "human_SOTA": 70.73511457809136}
# These two assign strings into an int64 column, which pandas 3 refuses ("Invalid value ... for dtype 'int64'").
NEEDS_PANDAS_2 = {"gepa", "human_SOTA"}
LEADERBOARD = os.environ.get("ADRS_LEADERBOARD_DIR")  # a checkout of UCB-ADRS/ADRS-Leaderboard (no licence: not shipped)


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> Path:
    """The problem's public modules alone, as the candidate's process sees them."""
    folder = tmp_path_factory.mktemp("public")
    copy_public(ROOT, PROBLEM.candidate.public, folder)
    return folder


def score(public: Path, program: str | Path, split: str = "train") -> dict:
    with open_candidate(program, public=[public]) as candidate:
        return evaluator.evaluate(candidate, split)


def _program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text("import pandas as pd\n\n" + textwrap.dedent(body))
    return str(path)


def _trie_hits(rows: list[str]) -> list[int]:
    """The leaderboard's definition, literally: longest prefix shared with any earlier row."""
    hits = []
    for i, row in enumerate(rows):
        best = 0
        for earlier in rows[:i]:
            k = 0
            while k < min(len(row), len(earlier)) and row[k] == earlier[k]:
                k += 1
            best = max(best, k)
        hits.append(best)
    return hits


def test_prefix_hits_equal_the_trie_definition_on_random_rows():
    rng = random.Random(7)
    for _ in range(3000):
        rows = ["".join(rng.choice("abc") for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(0, 14))]
        assert prefix_hits.row_hits(rows) == _trie_hits(rows), rows


def test_beer_reference_is_the_leaderboards_baseline_on_beer():
    (beer,) = tables.split_tables("test")
    assert len(beer.rows.plain) == 28479
    assert 100 * evaluator.reference_rate("test", "beer") == pytest.approx(BEER_REFERENCE, abs=1e-12)


def test_original_order_reproduces_the_leaderboards_numbers_on_beer(public):
    result = score(public, ROOT / "baselines" / "original_order.py", "test")
    assert result["hit_rate_pct"] == pytest.approx(BEER_ORIGINAL_ORDER, abs=1e-12)
    assert result["normalized_hit_score"] == pytest.approx(BEER_ORIGINAL_ORDER_NORMALIZED, abs=1e-9)
    assert result["reference_hit_rate_pct"] == pytest.approx(BEER_REFERENCE, abs=1e-12)


def test_train_anchors_and_the_seed(public):
    original = score(public, ROOT / "baselines" / "original_order.py")
    assert original["normalized_hit_score"] == 0
    assert original["hit_rate_pct"] == pytest.approx(original["reference_hit_rate_pct"])
    seed = score(public, ROOT / "seed.py")
    fixed = score(public, ROOT / "baselines" / "column_score_sort.py")
    assert original["score"] < seed["score"] < fixed["score"]
    assert 0 < seed["leaderboard_score"] < 100


def test_sandbox_gives_the_same_numbers():
    result = evaluate_file(PROBLEM, ROOT / "baselines" / "column_score_sort.py", "train")
    assert result.status == "ok", result.artifacts
    with open_candidate(ROOT / "baselines" / "column_score_sort.py", public=[ROOT]) as candidate:
        direct = evaluator.evaluate(candidate, "train")
    assert result.metrics["hit_rate_pct"] == pytest.approx(direct["hit_rate_pct"], abs=1e-12)


def test_rows_may_be_shuffled_cells_permuted_and_groups_fused_either_way(public, tmp_path):
    program = _program(tmp_path, """
        import random

        class Solution:
            def solve(self, df, col_merge=None, **settings):
                rng = random.Random(3)
                rows = df.fillna("").astype(str).values.tolist()  # pandas 2 writes missing values as "nan"
                names = list(df.columns)
                out = []
                for row in rows:
                    cells = dict(zip(names, row))
                    for group in col_merge:
                        members = [cells.pop(c) for c in group]
                        if rng.random() < 0.5:
                            cells["+".join(group)] = "".join(reversed(members))
                        else:
                            cells.update({f"{c}#": v for c, v in zip(group, members)})
                    values = list(cells.values())
                    rng.shuffle(values)
                    out.append(values)
                rng.shuffle(out)
                return pd.DataFrame(out)  # rows of different widths: padded with missing values
    """)
    result = score(public, program)
    assert 0 < result["score"] < 100


@pytest.mark.parametrize("body, reason", [
    ("return df.iloc[:-1]", "must have the table's"),
    ("return pd.concat([df.iloc[[0]]] * len(df))", "not an unused row"),
    ("df = df.copy(); df.iloc[0, 0] = 'x' + str(df.iloc[0, 0]); return df", "not an unused row"),
    ("return df.assign(extra='x')", "not an unused row"),
    ("return df.astype(str).map(lambda s: ''.join(sorted(str(s))))", "not an unused row"),
    ("return df.values.tolist()", "not a pandas DataFrame"),
])
def test_answers_that_are_not_the_table_rearranged_are_rejected(public, tmp_path, body, reason):
    program = _program(tmp_path, f"""
        class Solution:
            def solve(self, df, **settings):
                {body}
    """)
    with pytest.raises(InvalidProgram, match=reason):
        score(public, program)


def test_a_program_that_rewrites_its_side_of_the_call_gains_nothing(public, tmp_path):
    program = _program(tmp_path, """
        import table_call

        def forged_rows():
            first = table_call.render_rows(table_call._state.pop("answer"))[0]
            return [first] * 1500

        table_call.rows = forged_rows

        class Solution:
            def solve(self, df, **settings):
                return df
    """)
    with pytest.raises(InvalidProgram, match="not an unused row"):
        score(public, program)


def test_a_program_without_solution_is_rejected(public, tmp_path):
    with pytest.raises(InvalidProgram, match="class Solution"):
        score(public, _program(tmp_path, "def solve(df):\n    return df\n"))


def test_a_slow_program_runs_out_of_the_train_budget(public, tmp_path, monkeypatch):
    monkeypatch.setitem(evaluator.TIME_BUDGET_S, "train", 1.0)
    program = _program(tmp_path, """
        import time

        class Solution:
            def solve(self, df, **settings):
                time.sleep(5)
                return df
    """)
    with pytest.raises(evaluator.SolveTimeout, match="wall-time budget"):
        score(public, program)


def test_the_leaderboards_score_formula():
    total, normalized, runtime = evaluator.leaderboard_score(0.5, 0.2, 2.5)
    assert normalized == pytest.approx(37.5)
    assert runtime == pytest.approx(75.0)
    assert total == pytest.approx(0.95 * 37.5 + 0.05 * 75.0)
    assert evaluator.leaderboard_score(0.1, 0.2, 20.0) == (0.0, 0.0, 0.0)


@pytest.mark.slow
@pytest.mark.skipif(LEADERBOARD is None, reason="set ADRS_LEADERBOARD_DIR to a checkout of UCB-ADRS/ADRS-Leaderboard")
@pytest.mark.parametrize("name", sorted(PUBLISHED_ON_BEER))
def test_published_solutions_run_unchanged_and_score_their_beer_numbers(public, name):
    program = Path(LEADERBOARD) / "solutions" / "llm_sql" / name / "resources" / "solution.py"
    if name in NEEDS_PANDAS_2 and int(pd.__version__.split(".")[0]) >= 3:
        with pytest.raises(CandidateFailed, match="for dtype 'int64'"):
            score(public, program, "test")
        return
    result = score(public, program, "test")
    assert result["hit_rate_pct"] == pytest.approx(PUBLISHED_ON_BEER[name], abs=1e-12)
    assert result["normalized_hit_score"] == pytest.approx(
        (PUBLISHED_ON_BEER[name] - BEER_REFERENCE) / (100 - BEER_REFERENCE) * 100, abs=1e-9)


@pytest.mark.slow
@pytest.mark.skipif(LEADERBOARD is None, reason="set ADRS_LEADERBOARD_DIR to a checkout of UCB-ADRS/ADRS-Leaderboard")
def test_a_published_ggr_solution_runs_in_the_sandbox():
    """GGR opens a thread pool per recursion level: the problem's process limit must allow it."""
    program = Path(LEADERBOARD) / "solutions" / "llm_sql" / "shinkaevolve" / "resources" / "solution.py"
    result = evaluate_file(PROBLEM, program, "test")
    assert result.status == "ok", result.artifacts
    assert result.metrics["hit_rate_pct"] == pytest.approx(PUBLISHED_ON_BEER["shinkaevolve"], abs=1e-12)

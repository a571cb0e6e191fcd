"""The candidate's side of one table: a pandas DataFrame in, row strings' cells out.

The scorer sends a table as the text of its CSV file; here, in the candidate's process, it
becomes the DataFrame the leaderboard hands a solution (`pandas.read_csv(...,
low_memory=False)`), the program's `Solution().solve` runs on it with the leaderboard's
arguments, and the answer goes back as each row's cells rendered the leaderboard's way.
Nothing here is trusted: the scorer checks that every returned row is a rearrangement of
one of its own rows and recomputes the hits, so a program that rewrites this module only
changes what it answers.
"""

from __future__ import annotations

import io
import sys
from typing import Any

import pandas as pd

PROGRAM_MODULE = "candidate"  # the name the candidate's host gives the loaded program
_state: dict[str, Any] = {}


def read_table(csv_text: str) -> pd.DataFrame:
    """The DataFrame the leaderboard's evaluator reads from a dataset file."""
    return pd.read_csv(io.StringIO(csv_text), low_memory=False)


def render_rows(frame: pd.DataFrame) -> list[list[str]]:
    """Each row's cells as the leaderboard concatenates them.

    Its evaluator walks `iterrows()` and joins `row.fillna("").astype(str)`: a row takes the
    frame's common dtype (all-integer frames stay integers, integers beside floats become
    floats, anything else keeps each value as it is), missing values become "".
    """
    if frame.shape[1] == 0:
        return [[] for _ in range(len(frame))]
    common = frame.to_numpy() if all(kind in "biuf" for kind in (d.kind for d in frame.dtypes)) else None
    columns = []
    for j in range(frame.shape[1]):
        values = common[:, j].tolist() if common is not None else frame.iloc[:, j].tolist()
        missing = frame.iloc[:, j].isna().to_numpy()
        text = [str(v) for v in values]
        for i in missing.nonzero()[0].tolist():
            text[i] = ""
        columns.append(text)
    return [list(row) for row in zip(*columns)]


def load(csv_text: str) -> int:
    """Parse the table for the next solve (not timed); answers its number of rows."""
    _state.clear()
    _state["table"] = read_table(csv_text)
    return len(_state["table"])


def solve(settings: dict[str, Any]) -> str | None:
    """Run the program's Solution().solve on the loaded table (the scorer times this call).

    Answers None, or what was wrong with the returned value.
    """
    program = sys.modules[PROGRAM_MODULE]
    answer = program.Solution().solve(_state.pop("table"), **settings)
    if not isinstance(answer, pd.DataFrame):
        return f"Solution.solve returned {type(answer).__name__}, not a pandas DataFrame"
    _state["answer"] = answer
    return None


def rows() -> list[list[str]]:
    """The last answer's rows, each as its list of cells."""
    return render_rows(_state.pop("answer"))

"""The `solver.Algorithm` base class that the leaderboard's published solutions import.

Each published GGR-family solution ships `from solver import Algorithm` and inherits its
table statistics and column merging, so a program written for the leaderboard runs here
unchanged. These helpers follow the behaviour those solutions rely on (the same column
score, the same merge rule and checks); nothing here is trusted by the scorer.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


class Algorithm:
    """The table statistics and column merging a reordering algorithm builds on; each
    published solution subclasses it with its own ``reorder`` (their signatures differ)."""

    def __init__(self, df: pd.DataFrame | None = None) -> None:
        self.df = df

    @staticmethod
    def calculate_length(value: Any) -> int:
        """Squared printed length of a value: long shared values are worth more than short ones."""
        if isinstance(value, bool):
            return 16
        if isinstance(value, (int, float)):
            return len(str(value)) ** 2
        if isinstance(value, str):
            return len(value) ** 2
        return 0

    @staticmethod
    def calculate_col_stats(df: pd.DataFrame, enable_index: bool = False) -> tuple[int, list[tuple[str, int, float, float]]]:
        """(rows, [(column, distinct values, squared mean length, score)]) best score first.

        score = squared mean length x (mean rows per distinct value - 1), 0 for a column
        whose values are all distinct; `original_index` (a bookkeeping column) comes last.
        """
        num_rows = len(df)
        stats = []
        for column in df.columns:
            if column == "original_index":
                continue
            series = df[column]
            distinct = series.nunique()
            if series.dtype == "object" or series.dtype == "string" or series.dtype in ["int64", "float64"]:
                mean_length = series.astype(str).str.len().mean()
            elif series.dtype == "bool":
                mean_length = 4
            else:
                mean_length = 0
            squared = mean_length ** 2
            score = 0 if distinct in (0, num_rows) else squared * (num_rows / distinct - 1)
            stats.append((column, distinct, squared, score))
        if enable_index and "original_index" in df.columns:
            stats.append(("original_index", len(df), 0, 0))
        stats.sort(key=lambda entry: entry[3], reverse=True)
        return num_rows, stats

    @staticmethod
    def merging_columns(df: pd.DataFrame, col_names: list[str], delimiter: str = "_", prepended: bool = False) -> pd.DataFrame:
        """Replace `col_names` by one column (named by joining them) of their values concatenated.

        The columns must exist and have equally many distinct values (a merge is meant for
        columns that determine each other). With `prepended`, cells look like "name: value"
        and the merged cell keeps one name and joins the values with the delimiter.
        """
        if not all(column in df.columns for column in col_names):
            raise ValueError("Column names not found in DataFrame")
        if len(set(df[col_names].nunique())) != 1:
            raise ValueError(f"Columns to be merged {col_names} do not have the same number of unique values")
        merged_name = delimiter.join(col_names)
        if prepended:
            def join(row: pd.Series) -> str:
                return merged_name + ": " + delimiter.join(str(v).split(": ", 1)[1] for v in row)
        else:
            def join(row: pd.Series) -> str:
                return "".join(f"{v}" for v in row)
        df[merged_name] = df[col_names].apply(join, axis=1)
        return df.drop(columns=col_names)

    @staticmethod
    def get_groups_values(df: pd.DataFrame) -> Any:
        """How often each value occurs anywhere in the table."""
        if df.empty:
            return {}
        counts = df.stack().value_counts()
        return {} if counts.empty else counts

    @staticmethod
    def drop_col(df: pd.DataFrame, col: str) -> pd.DataFrame:
        return df.drop(columns=[col])

    @staticmethod
    def drop_rows(df: pd.DataFrame, rows: Any) -> pd.DataFrame:
        return df.drop(index=rows)

"""One column order for the whole table, by GGR's column score, then rows sorted by it.

This is the fixed-order fallback of Greedy Group Recursion (Liu et al., MLSys 2025):
a column scores (mean printed length)^2 x (rows per distinct value - 1), so long values
shared by many rows lead. Merge groups are fused first, in the given member order.
"""

import pandas as pd


def merge_columns(df: pd.DataFrame, col_merge) -> pd.DataFrame:
    for group in col_merge or []:
        if all(column in df.columns for column in group):
            values = df[group].astype(str).to_numpy().tolist()
            df = df.drop(columns=group)
            df["_".join(group)] = ["".join(row) for row in values]
    return df


def column_score(series: pd.Series) -> float:
    distinct = series.nunique()
    if distinct in (0, len(series)):
        return 0.0
    length = series.astype(str).str.len().mean()
    return length ** 2 * (len(series) / distinct - 1)


class Solution:
    def solve(self, df: pd.DataFrame, early_stop: int = 100000, row_stop: int = 4, col_stop: int = 2,
              col_merge: list = None, one_way_dep: list = None, distinct_value_threshold: float = 0.7,
              parallel: bool = True) -> pd.DataFrame:
        df = merge_columns(df.copy(), col_merge)
        order = sorted(df.columns, key=lambda c: -column_score(df[c]))
        return df[order].sort_values(by=order, kind="stable")

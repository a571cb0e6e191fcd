"""LLM-SQL: order a table's columns (and rows) so consecutive rows share long prefixes."""

import pandas as pd


def merge_columns(df: pd.DataFrame, col_merge) -> pd.DataFrame:
    """Fuse each merge group into one column of its members' values, as the leaderboard does."""
    for group in col_merge or []:
        if all(column in df.columns for column in group):
            values = df[group].astype(str).to_numpy().tolist()
            df = df.drop(columns=group)
            df["_".join(group)] = ["".join(row) for row in values]
    return df


# EVOLVE-BLOCK-START
def column_order(df: pd.DataFrame) -> list:
    """Columns with few distinct values first (they repeat most), longer values first on ties."""
    distinct_weight = 1.0
    length_weight = 0.0

    def cost(column):
        text = df[column].astype(str)
        return distinct_weight * df[column].nunique() - length_weight * text.str.len().mean()

    return sorted(df.columns, key=cost)


def order_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Sort the rows by the ordered columns, so equal leading values sit together."""
    return df.sort_values(by=list(df.columns), kind="stable")
# EVOLVE-BLOCK-END


class Solution:
    def solve(self, df: pd.DataFrame, early_stop: int = 100000, row_stop: int = 4, col_stop: int = 2,
              col_merge: list = None, one_way_dep: list = None, distinct_value_threshold: float = 0.7,
              parallel: bool = True) -> pd.DataFrame:
        df = merge_columns(df.copy(), col_merge)
        return order_rows(df[column_order(df)])

"""The table as it comes: the original column and row order (the leaderboard's 0 point)."""

import pandas as pd


class Solution:
    def solve(self, df: pd.DataFrame, early_stop: int = 100000, row_stop: int = 4, col_stop: int = 2,
              col_merge: list = None, one_way_dep: list = None, distinct_value_threshold: float = 0.7,
              parallel: bool = True) -> pd.DataFrame:
        return df

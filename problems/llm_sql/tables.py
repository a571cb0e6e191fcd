"""The tables of each split, as the scorer holds them: CSV text, merge groups, cells.

Test is the leaderboard's beer.csv with its merge group (the only one of the leaderboard's
five datasets that is available, see data/README.md); train is the three generated tables
of table_generator. Each table keeps its CSV text (what the candidate receives), its rows
as cells for checking answers, and the leaderboard's reference rows: the columns in their
original order after merging, the 0-point anchor of its score.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from row_check import TableRows, canonical
from table_call import read_table, render_rows
from table_generator import TRAIN_TABLES

DATA = Path(__file__).parent / "data"
BEER_SHA256 = "4682ba58e198962b26725c3d7a67f7ac53118c183c771d3ad3d8db21c80581c3"
BEER_MERGE = [["beer/beerId", "beer/name"]]


class Table(NamedTuple):
    name: str
    csv_text: str
    col_merge: list[list[str]]
    rows: TableRows
    reference_rows: list[str]


class DataError(RuntimeError):
    """A bundled data file is missing or not the published one."""


def beer_csv() -> str:
    """The leaderboard's beer.csv, checked against its published digest."""
    raw = gzip.decompress((DATA / "beer.csv.gz").read_bytes())
    if hashlib.sha256(raw).hexdigest() != BEER_SHA256:
        raise DataError(f"{DATA / 'beer.csv.gz'} is not the leaderboard's beer.csv (sha256 differs); restore it from git")
    return raw.decode()


def merged_original_order(frame: pd.DataFrame, col_merge: list[list[str]]) -> pd.DataFrame:
    """The leaderboard's reference table: each merge group's values joined with f"{value}"
    into one column at the end (named by joining the names with "_"), the rest in place."""
    merged = frame.copy()
    for group in col_merge:
        if all(column in merged.columns for column in group):
            values = merged[group].to_numpy().tolist()
            merged["_".join(group)] = ["".join(f"{v}" for v in row) for row in values]
            merged = merged.drop(columns=group)
    return merged


def make_table(name: str, csv_text: str, col_merge: list[list[str]]) -> Table:
    frame = read_table(csv_text)
    cells = [[canonical(c) for c in row] for row in render_rows(frame)]
    present = [g for g in col_merge if all(c in frame.columns for c in g)]
    position = {c: i for i, c in enumerate(frame.columns)}
    grouped = {position[c] for g in present for c in g}
    plain_at = [i for i in range(frame.shape[1]) if i not in grouped]
    group_at = [[position[c] for c in g] for g in present]
    rows = TableRows(
        name,
        [tuple(row[i] for i in plain_at) for row in cells],
        [tuple(tuple(row[i] for i in g) for g in group_at) for row in cells],
    )
    reference = ["".join(row) for row in render_rows(merged_original_order(frame, col_merge))]
    return Table(name, csv_text, col_merge, rows, reference)


@cache
def split_tables(split: str) -> tuple[Table, ...]:
    if split == "train":
        return tuple(make_table(name, make(seed), merge) for name, make, seed, merge in TRAIN_TABLES)
    if split == "test":
        return (make_table("beer", beer_csv(), BEER_MERGE),)
    raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")

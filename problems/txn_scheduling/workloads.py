"""The leaderboard's `workloads` module: its three published workloads as JSON text.

Published programs write `from workloads import WORKLOAD_1, WORKLOAD_2, WORKLOAD_3`. The
texts are rebuilt from `data/workloads.json` (the train split, public on the candidate's
side for that reason) in the published form, `{"txn<i>": "op op ..."}`, in order.
"""

from __future__ import annotations

import json
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data" / "workloads.json"


def _as_published(transactions: list[list[str]]) -> str:
    return json.dumps({f"txn{i}": " ".join(ops) for i, ops in enumerate(transactions)})


WORKLOAD_1, WORKLOAD_2, WORKLOAD_3 = (_as_published(w) for w in json.loads(_DATA.read_text()))

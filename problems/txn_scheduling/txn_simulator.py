"""The leaderboard's `txn_simulator.Workload` on the candidate's side, for its published programs.

The ADRS leaderboard's programs write `from txn_simulator import Workload` and build each
workload from its JSON text (`{"txn0": "w-17 r-5 ...", ...}`). This class takes that text
and is otherwise this problem's `txn_workload.Workload` (same `txns`, `num_txns`,
`get_opt_seq_cost`, which the cross-check in the README shows gives the published
simulator's makespans); `debug` is kept because the leaderboard's initial program reads it.
"""

from __future__ import annotations

import json

import txn_workload


class Workload(txn_workload.Workload):
    def __init__(self, workload_json: str, debug: bool = False, verify: bool = False) -> None:
        texts = list(json.loads(workload_json).values())
        if not all(isinstance(t, str) for t in texts):
            raise txn_workload.WorkloadError("each transaction of a workload's JSON must be a string of operations")
        super().__init__([t.split() for t in texts], "workload")
        self.debug = debug
        self.verify = verify

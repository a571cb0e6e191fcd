"""The conflict cost model of the ADRS transaction-scheduling benchmark.

Each operation takes one time unit at its position inside its transaction; transactions
are placed in schedule order, each starting as early as possible such that a write on a
key comes after every earlier access to that key and a read after the latest write
(reads share). The published simulator keeps per-key lock lists; only the latest access
and the latest write per key ever constrain a new transaction, so two numbers per key
give the same makespans in O(operations).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

# (op_type "r"/"w", key, 1-based position in the transaction, transaction length): the
# published representation, so programs written for the published simulator carry over.
Operation = tuple[str, int, int, int]


class WorkloadError(ValueError):
    """A workload file or transaction text does not follow the r-<key>/w-<key>/* format."""


def parse_transaction(ops: Sequence[str]) -> list[Operation]:
    """Keyed operations of one transaction; '*' only takes a time unit."""
    parsed: list[Operation] = []
    for position, op in enumerate(ops, start=1):
        if op == "*":
            continue
        kind, _, key = op.partition("-")
        if kind not in ("r", "w") or not key.isdigit():
            raise WorkloadError(f"operation {op!r} is not 'r-<key>', 'w-<key>' or '*'")
        parsed.append((kind, int(key), position, len(ops)))
    if not parsed:
        raise WorkloadError(f"transaction {' '.join(ops)!r} touches no key")
    return parsed


class Workload:
    """A batch of transactions; `txns[i]` lists transaction i's keyed operations."""

    def __init__(self, transactions: Sequence[Sequence[str]], name: str = "workload") -> None:
        self.name = name
        self.txns: list[list[Operation]] = [parse_transaction(t) for t in transactions]
        self.lengths: list[int] = [len(t) for t in transactions]
        self.num_txns = len(self.txns)

    @property
    def lower_bound(self) -> int:
        """The longest transaction: no schedule can finish earlier."""
        return max(self.lengths)

    def start(self) -> PartialSchedule:
        return PartialSchedule(self)

    def get_opt_seq_cost(self, txn_seq: Sequence[int]) -> int:
        """Makespan of running the transactions in this order (the published name)."""
        schedule = self.start()
        for txn in txn_seq:
            schedule.append(txn)
        return schedule.makespan


class PartialSchedule:
    """A schedule prefix that grows one transaction at a time.

    Appending or pricing a transaction costs O(its operations), which is what makes
    greedy and local-search schedulers affordable inside the evaluation budget.
    """

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.seq: list[int] = []
        self.makespan = 0
        self._last_access: dict[int, int] = {}
        self._last_write: dict[int, int] = {}

    def copy(self) -> PartialSchedule:
        twin = PartialSchedule(self.workload)
        twin.seq = list(self.seq)
        twin.makespan = self.makespan
        twin._last_access = dict(self._last_access)
        twin._last_write = dict(self._last_write)
        return twin

    def start_time(self, txn: int) -> int:
        """Earliest start (1-based time unit) of `txn` if it were appended now."""
        start = 1
        for kind, key, position, _ in self.workload.txns[txn]:
            if kind == "w":
                blocker = self._last_access.get(key)
            else:
                blocker = self._last_write.get(key)
            if blocker is not None and blocker + 2 - position > start:
                start = blocker + 2 - position
        return start

    def binding_key(self, txn: int) -> int | None:
        """The key whose earlier lock delays `txn` most if appended now (None: no delay)."""
        start, binding = 1, None
        for kind, key, position, _ in self.workload.txns[txn]:
            blocker = self._last_access.get(key) if kind == "w" else self._last_write.get(key)
            if blocker is not None and blocker + 2 - position > start:
                start, binding = blocker + 2 - position, key
        return binding

    def cost_with(self, txn: int) -> int:
        """The makespan after appending `txn`, without appending it."""
        end = self.start_time(txn) + self.workload.lengths[txn] - 1
        return max(self.makespan, end)

    def append(self, txn: int) -> None:
        start = self.start_time(txn)
        last_access, last_write = self._last_access, self._last_write
        for kind, key, position, _ in self.workload.txns[txn]:
            time = start + position - 1
            if last_access.get(key, 0) < time:
                last_access[key] = time
            if kind == "w" and last_write.get(key, 0) < time:
                last_write[key] = time
        self.makespan = max(self.makespan, start + self.workload.lengths[txn] - 1)
        self.seq.append(txn)


def load_workloads(path: Path) -> list[Workload]:
    """Read a JSON list of workloads, each a list of transactions (lists of op strings)."""
    data = json.loads(path.read_text())
    return [Workload(transactions, f"{path.stem}_{i + 1}") for i, transactions in enumerate(data)]

"""Several runs on one chart: best score so far against candidates and against dollars.

Dollars are what the run's model calls had cost by the time each candidate was written,
so a run that spends more per candidate shows as a flatter curve on the dollar axis.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

from evolve.database import queries
from evolve.statuses import Origin, Status
from evolve.web.reader import RunReader


def run_curve(reader: RunReader, run_id: int) -> dict[str, Any]:
    """Per candidate (seed first, migrants out): index, best score so far, dollars so far."""
    run = reader.run(str(run_id))
    rows = [r for r in queries.run_attempts(reader.db, run_id) if r["origin"] != Origin.MIGRANT]
    costs = queries.call_costs(reader.db, run_id)
    times = [t for t, _ in costs]
    spent = list(itertools.accumulate(c for _, c in costs))
    best: float | None = None
    curve = []
    for index, row in enumerate(rows):
        if row["status"] == Status.OK and row["score"] is not None and (best is None or row["score"] > best):
            best = row["score"]
        paid = bisect.bisect_right(times, row["created_at"])
        curve.append([index, best, round(spent[paid - 1], 6) if paid else 0.0])
    return {"id": run.id, "name": run.name, "problem": run.problem, "state": run.state, "points": curve}


def compare_data(reader: RunReader, run_ids: list[int]) -> dict[str, Any]:
    return {"runs": [run_curve(reader, run_id) for run_id in run_ids]}

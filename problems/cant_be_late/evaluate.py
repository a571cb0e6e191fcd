"""Scores a Can't Be Late strategy by its mean cost over the split's runs.

score = 100 * (146.88 - mean_cost) / (146.88 - 46.7088): the ADRS leaderboard's 0-100
scale (all on-demand = 0, all spot = 100) left unclipped, so that even a policy worse than
all on-demand still gets a gradient. `leaderboard_score` is the clipped, rounded value the
leaderboard prints.

The strategy runs in the candidate's own process, behind the problem's public modules
(`sky_spot/fleet.py` rebuilds the published view there each tick); this process keeps the
traces, the simulator and the score, and checks every decision it is sent.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import numpy as np

_HERE = Path(__file__).resolve().parent


def _own_sky_spot() -> dict[str, ModuleType]:
    """Import this folder's `sky_spot` package, evicting another problem's of that name.

    The multi-region problem ships a package with the same published import path; both
    may be loaded in one process, so each evaluate() call rebinds the name to its own.
    """
    for name in [n for n in sys.modules if n == "sky_spot" or n.startswith("sky_spot.")]:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if not Path(origin).resolve().is_relative_to(_HERE):
            del sys.modules[name]
    if str(_HERE) in sys.path:
        sys.path.remove(str(_HERE))
    sys.path.insert(0, str(_HERE))
    import sky_spot.cluster_type  # noqa: F401
    import sky_spot.prices  # noqa: F401
    import sky_spot.scenarios  # noqa: F401
    import sky_spot.simulation  # noqa: F401
    import sky_spot.utils  # noqa: F401

    return {n: m for n, m in sys.modules.items() if n == "sky_spot" or n.startswith("sky_spot.")}


_SKY_SPOT = _own_sky_spot()

from sky_spot.cluster_type import CLUSTER_TYPES  # noqa: E402
from sky_spot.prices import ON_DEMAND_PRICE_PER_HOUR, SPOT_PRICE_PER_HOUR  # noqa: E402
from sky_spot.scenarios import TASK_HOURS, Scenario, load_traces, scenarios  # noqa: E402
from sky_spot.simulation import Decide, RunResult, Runs, SimulationError, run_lockstep  # noqa: E402

from evolve.evaluators.channel import Candidate, Remote  # noqa: E402
from evolve.evaluators.contract import InvalidProgram  # noqa: E402

ON_DEMAND_ANCHOR = ON_DEMAND_PRICE_PER_HOUR * TASK_HOURS
SPOT_ANCHOR = SPOT_PRICE_PER_HOUR * TASK_HOURS
PUBLISHED_TRAIN_COSTS = {"greedy": 119.035, "uniform_progress": 99.230}
MAX_MESSAGE = 500


def _bind_sky_spot() -> None:
    for name in [n for n in sys.modules if n == "sky_spot" or n.startswith("sky_spot.")]:
        if sys.modules[name] is not _SKY_SPOT.get(name):
            del sys.modules[name]
    sys.modules.update(_SKY_SPOT)


def _where(sc: Scenario) -> str:
    return f"{sc.env} window {sc.window}, deadline {sc.deadline_hours:g} h, overhead {sc.overhead_hours:g} h"


def leaderboard_score(mean_cost: float) -> float:
    return 100.0 * (ON_DEMAND_ANCHOR - mean_cost) / (ON_DEMAND_ANCHOR - SPOT_ANCHOR)


def _checked_decisions(reply: object, count: int, tick: int, runs: list[Scenario]) -> np.ndarray:
    """The fleet's answer for one tick of ``runs``: one CLUSTER_TYPES code each, or why not."""
    if isinstance(reply, dict):
        position, error = reply.get("run"), reply.get("error")
        if type(position) is int and 0 <= position < count and isinstance(error, str):
            raise InvalidProgram(f"{_where(runs[position])}: {error[:MAX_MESSAGE]}")
        raise InvalidProgram(f"the strategy's answer for tick {tick} is neither decisions nor an error")
    if not isinstance(reply, np.ndarray) or reply.dtype.kind not in "iu" or reply.shape != (count,):
        raise InvalidProgram(f"the strategy answered tick {tick} of {count} runs with something other than "
                             f"{count} ClusterType codes")
    if count and (reply.min() < 0 or reply.max() >= len(CLUSTER_TYPES)):
        raise InvalidProgram(f"the strategy answered tick {tick} with a code that is not a ClusterType")
    return reply


def _asking(fleet: Remote, state: Runs, runs: list[Scenario]) -> Decide:
    """One round trip per tick: the view of every unfinished run out, one decision per run back."""
    def decide(tick: int, active: np.ndarray) -> np.ndarray:
        reply = fleet.call("step", tick, tick * state.gap, active.astype(np.int32), state.running[active],
                           state.pending[active], state.work[active], state.last[active], state.has_spot[active])
        return _checked_decisions(reply, len(active), tick, [runs[k] for k in active.tolist()])

    return decide


def simulate_split(candidate: Candidate, split: str) -> list[tuple[Scenario, RunResult]]:
    """Every run of the split in lock-step, the program's strategy asked in its own process."""
    problem = candidate.call("sky_spot.fleet:strategy_problem")
    if problem is not None:
        raise InvalidProgram(problem[:MAX_MESSAGE] if isinstance(problem, str) else "the program has no usable strategy")
    traces = load_traces()
    runs = scenarios(split)
    state = Runs(np.stack([traces.row(sc.env, sc.window) for sc in runs]), traces.gap_seconds, TASK_HOURS,
                 [sc.deadline_hours for sc in runs], [sc.overhead_hours for sc in runs])
    fleet = candidate.new("sky_spot.fleet:StrategyFleet", traces.gap_seconds, TASK_HOURS,
                          [[sc.deadline_hours, sc.overhead_hours] for sc in runs])
    try:
        results = run_lockstep(state, _asking(fleet, state, runs))
    except SimulationError as exc:
        raise InvalidProgram(f"{_where(runs[exc.run])}: {exc}") from exc
    return list(zip(runs, results))


def _artifacts(runs: list[tuple[Scenario, RunResult]], mean_cost: float) -> dict[str, str]:
    groups: dict[tuple[str, float, float], list[RunResult]] = defaultdict(list)
    for sc, r in runs:
        groups[(sc.env, sc.deadline_hours, sc.overhead_hours)].append(r)
    rows = []
    for (env, deadline, overhead), rs in groups.items():
        cost = sum(r.cost for r in rs) / len(rs)
        od = sum(r.on_demand_ticks for r in rs) / max(1, sum(r.on_demand_ticks + r.spot_ticks for r in rs))
        misses = sum(r.missed_deadline for r in rs)
        rows.append((cost, env, deadline, overhead, od, misses, len(rs)))
    rows.sort(reverse=True)
    table = ["env | deadline h | overhead h | mean cost $ | on-demand share | deadline misses | runs"]
    table += [f"{e} | {d:g} | {o:.2f} | {c:.2f} | {od:.2f} | {m} | {n}" for c, e, d, o, od, m, n in rows]
    worst = sorted(runs, key=lambda item: item[1].cost, reverse=True)[:8]
    worst_lines = [
        f"{sc.env} window {sc.window} deadline {sc.deadline_hours:g} h overhead {sc.overhead_hours:.2f} h: "
        f"${r.cost:.2f} (spot ticks {r.spot_ticks}, on-demand ticks {r.on_demand_ticks}, "
        f"preemptions {r.preemptions}, finished at {r.finish_seconds / 3600:.2f} h)"
        for sc, r in worst
    ]
    late = [(sc, r) for sc, r in runs if r.missed_deadline]
    late_lines = [
        f"{sc.env} window {sc.window} deadline {sc.deadline_hours:g} h overhead {sc.overhead_hours:.2f} h: "
        f"finished {r.finish_seconds / 3600 - sc.deadline_hours:.3f} h late"
        for sc, r in late[:10]
    ]
    summary = (
        f"mean cost ${mean_cost:.3f} over {len(runs)} runs (all on-demand ${ON_DEMAND_ANCHOR:.2f}, "
        f"all spot ${SPOT_ANCHOR:.4f}); on the leaderboard set the greedy baseline costs "
        f"${PUBLISHED_TRAIN_COSTS['greedy']} and Uniform Progress ${PUBLISHED_TRAIN_COSTS['uniform_progress']}. "
        f"Deadline misses: {len(late)} (the safety net lets a running spot instance take one more "
        f"tick, so a preemption then can make a job late)."
    )
    return {
        "summary": summary,
        "per_scenario": "\n".join(table),
        "worst_runs": "\n".join(worst_lines),
        "deadline_misses": "\n".join(late_lines) if late_lines else "none",
    }


def _per_scenario(runs: list[tuple[Scenario, RunResult]]) -> dict[str, float]:
    """The leaderboard scale per job configuration and environment (over its windows)."""
    costs: dict[str, list[float]] = defaultdict(list)
    for sc, r in runs:
        costs[f"{sc.env}/deadline {sc.deadline_hours:g} h/overhead {sc.overhead_hours:g} h"].append(r.cost)
    return {name: leaderboard_score(sum(c) / len(c)) for name, c in costs.items()}


def _evaluate(candidate: Candidate, split: str) -> dict:
    _bind_sky_spot()
    runs = simulate_split(candidate, split)
    costs = [r.cost for _, r in runs]
    mean_cost = sum(costs) / len(costs)
    billed = sum(r.spot_ticks + r.on_demand_ticks for _, r in runs)
    score = leaderboard_score(mean_cost)
    return {
        "score": score,
        "mean_cost": mean_cost,
        "leaderboard_score": float(round(min(100.0, max(0.0, score)))),
        "on_demand_share": sum(r.on_demand_ticks for _, r in runs) / max(1, billed),
        "preemptions_per_run": sum(r.preemptions for _, r in runs) / len(runs),
        "deadline_misses": float(sum(r.missed_deadline for _, r in runs)),
        "max_cost": max(costs),
        "runs": float(len(runs)),
        "instances": _per_scenario(runs),
        "artifacts": _artifacts(runs, mean_cost),
    }


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    return _evaluate(candidate, split)


def evaluate_quick(candidate: Candidate, split: str = "train") -> dict:
    """A fifth of the leaderboard windows, whatever the split asked for."""
    return _evaluate(candidate, "quick")

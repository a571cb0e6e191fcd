"""Scores a multi-region Can't Be Late strategy by the mean of its scenario mean costs.

score = 100 * (146.88 - cost) / (146.88 - 46.7088), where cost is the plain mean of the
six scenario means (scenarios weighted equally, as on the ADRS leaderboard); the anchors
are the single-region all-on-demand and all-spot costs. Left unclipped so even a policy
worse than all on-demand gets a gradient; `leaderboard_score` is the clipped value.

The strategy runs in the candidate's own process, behind the problem's public modules
(`sky_spot/fleet.py` rebuilds the published view there each tick); this process keeps the
traces, the prices, the simulator and the score, and checks every decision and zone move.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np

_HERE = Path(__file__).resolve().parent


def _own_sky_spot() -> dict[str, ModuleType]:
    """Import this folder's `sky_spot` package, evicting another problem's of that name.

    The single-region problem ships a package with the same published import path; both
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
from sky_spot.scenarios import (  # noqa: E402
    DEADLINE_HOURS,
    OVERHEAD_HOURS,
    TASK_HOURS,
    Scenario,
    load_traces,
    scenarios,
)
from sky_spot.simulation import STAY, Decide, Job, RunResult, SimulationError, run_lockstep  # noqa: E402

from evolve.evaluators.channel import Candidate, Remote  # noqa: E402
from evolve.evaluators.contract import InvalidProgram  # noqa: E402

ON_DEMAND_ANCHOR = ON_DEMAND_PRICE_PER_HOUR * TASK_HOURS
SPOT_ANCHOR = SPOT_PRICE_PER_HOUR * TASK_HOURS
PUBLISHED_BASELINE_COST = 82.1869
MAX_MESSAGE = 500


def _bind_sky_spot() -> None:
    for name in [n for n in sys.modules if n == "sky_spot" or n.startswith("sky_spot.")]:
        if sys.modules[name] is not _SKY_SPOT.get(name):
            del sys.modules[name]
    sys.modules.update(_SKY_SPOT)


def leaderboard_score(cost: float) -> float:
    return 100.0 * (ON_DEMAND_ANCHOR - cost) / (ON_DEMAND_ANCHOR - SPOT_ANCHOR)


def _codes(value: object, count: int, low: int, what: str, tick: int) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu" or value.shape != (count,):
        raise InvalidProgram(f"the strategy answered tick {tick} of {count} runs with something other than "
                             f"{count} {what}")
    if count and value.min() < low:
        raise InvalidProgram(f"the strategy answered tick {tick} with a negative {what[:-1]}")
    return value


def _checked_answers(reply: object, live: list[Job], tick: int, where: list[str]) -> list[tuple[int, int]]:
    """The fleet's answer for one tick: a (ClusterType code, zone or STAY) pair per run, or why not."""
    count = len(live)
    if isinstance(reply, dict) and set(reply) == {"run", "error"}:
        position, error = reply["run"], reply["error"]
        if type(position) is int and 0 <= position < count and isinstance(error, str):
            raise InvalidProgram(f"{where[position]}: {error[:MAX_MESSAGE]}")
    if not isinstance(reply, dict) or set(reply) != {"decisions", "moves"}:
        raise InvalidProgram(f"the strategy's answer for tick {tick} is neither decisions and moves nor an error")
    decisions = _codes(reply["decisions"], count, 0, "ClusterType codes", tick)
    moves = _codes(reply["moves"], count, STAY, "zone indices", tick)
    if count and decisions.max() >= len(CLUSTER_TYPES):
        raise InvalidProgram(f"the strategy answered tick {tick} with a code that is not a ClusterType")
    for position, (job, target) in enumerate(zip(live, moves.tolist())):
        if target >= job.zones:
            raise InvalidProgram(f"{where[position]}: tick {tick}: zone {target} does not exist "
                                 f"(zones are 0..{job.zones - 1})")
    return list(zip(decisions.tolist(), moves.tolist()))


def _spots_now(live: list[Job]) -> np.ndarray:
    """Every zone's availability at this tick per run, padded with False to the widest scenario."""
    grid = np.zeros((len(live), max((j.zones for j in live), default=0)), dtype=bool)
    for row, job in enumerate(live):
        grid[row, :job.zones] = job.spots()
    return grid


def _asking(fleet: Remote, jobs: list[Job], where: list[str], gap: float) -> Decide:
    """One round trip per tick: the view of every unfinished run out, a decision and move per run back."""
    def decide(tick: int, active: list[int]) -> list[tuple[int, int]]:
        live = [jobs[k] for k in active]
        reply = fleet.call(
            "step", tick, tick * gap, np.array(active, dtype=np.int32),
            np.array([j.running for j in live], dtype=np.int8), np.array([j.region for j in live], dtype=np.int32),
            np.array([j.pending for j in live]), np.array([j.work for j in live]),
            np.array([j.last for j in live], dtype=np.int8), np.array([j.has_spot for j in live], dtype=bool),
            _spots_now(live),
        )
        return _checked_answers(reply, live, tick, [where[k] for k in active])

    return decide


def simulate_split(candidate: Candidate, split: str) -> list[tuple[Scenario, int, RunResult]]:
    """Every run of the split in lock-step, the program's strategy asked in its own process."""
    problem = candidate.call("sky_spot.fleet:strategy_problem")
    if problem is not None:
        raise InvalidProgram(problem[:MAX_MESSAGE] if isinstance(problem, str) else "the program has no usable strategy")
    traces = load_traces()
    runs = [(sc, window) for sc in scenarios(split) for window in sc.windows]
    jobs = [Job(*traces.run_inputs(sc.zones, window), traces.gap_seconds, TASK_HOURS, DEADLINE_HOURS, OVERHEAD_HOURS)
            for sc, window in runs]
    fleet = candidate.new("sky_spot.fleet:StrategyFleet", traces.gap_seconds, TASK_HOURS,
                          [[DEADLINE_HOURS, OVERHEAD_HOURS, len(sc.zones)] for sc, _ in runs])
    where = [f"scenario {sc.name}, window {window}" for sc, window in runs]
    try:
        results = run_lockstep(jobs, _asking(fleet, jobs, where, traces.gap_seconds))
    except SimulationError as exc:
        raise InvalidProgram(f"{where[exc.run]}: {exc}") from exc
    return [(sc, window, result) for (sc, window), result in zip(runs, results)]


def _scenario_means(runs: list[tuple[Scenario, int, RunResult]]) -> dict[str, float]:
    grouped: dict[str, list[float]] = {}
    for sc, _, r in runs:
        grouped.setdefault(sc.name, []).append(r.cost)
    return {name: sum(costs) / len(costs) for name, costs in grouped.items()}


def _artifacts(runs: list[tuple[Scenario, int, RunResult]], means: dict[str, float], cost: float) -> dict[str, str]:
    table = ["scenario | zones | mean cost $ | on-demand share | zone moves/run | deadline misses | runs"]
    for sc_name, mean in sorted(means.items(), key=lambda item: -item[1]):
        rs = [(sc, r) for sc, _, r in runs if sc.name == sc_name]
        billed = sum(r.spot_ticks + r.on_demand_ticks for _, r in rs)
        od = sum(r.on_demand_ticks for _, r in rs) / max(1, billed)
        moves = sum(r.region_switches for _, r in rs) / len(rs)
        misses = sum(r.missed_deadline for _, r in rs)
        table.append(f"{sc_name} | {len(rs[0][0].zones)} | {mean:.2f} | {od:.2f} | {moves:.1f} | {misses} | {len(rs)}")
    worst = sorted(runs, key=lambda item: item[2].cost, reverse=True)[:8]
    worst_lines = [
        f"{sc.name} window {w}: ${r.cost:.2f} (spot ticks {r.spot_ticks}, on-demand ticks {r.on_demand_ticks}, "
        f"preemptions {r.preemptions}, zone moves {r.region_switches}, finished at {r.finish_seconds / 3600:.2f} h)"
        for sc, w, r in worst
    ]
    late = [f"{sc.name} window {w}: {r.finish_seconds / 3600 - DEADLINE_HOURS:.3f} h late"
            for sc, w, r in runs if r.missed_deadline]
    summary = (
        f"mean of scenario means ${cost:.3f} over {len(runs)} runs in {len(means)} scenarios "
        f"(all on-demand ${ON_DEMAND_ANCHOR:.2f}); the leaderboard's baseline scores "
        f"${PUBLISHED_BASELINE_COST} on the train scenarios. Deadline misses: {len(late)}."
    )
    return {
        "summary": summary,
        "per_scenario": "\n".join(table),
        "worst_runs": "\n".join(worst_lines),
        "deadline_misses": "\n".join(late[:10]) if late else "none",
    }


def _evaluate(candidate: Candidate, split: str) -> dict:
    _bind_sky_spot()
    runs = simulate_split(candidate, split)
    means = _scenario_means(runs)
    cost = sum(means.values()) / len(means)
    billed = sum(r.spot_ticks + r.on_demand_ticks for _, _, r in runs)
    score = leaderboard_score(cost)
    metrics = {
        "score": score,
        "mean_cost": cost,
        "leaderboard_score": round(min(100.0, max(0.0, score)), 2),
        "on_demand_share": sum(r.on_demand_ticks for _, _, r in runs) / max(1, billed),
        "zone_moves_per_run": sum(r.region_switches for _, _, r in runs) / len(runs),
        "deadline_misses": float(sum(r.missed_deadline for _, _, r in runs)),
        "runs": float(len(runs)),
    }
    metrics.update({f"cost_{name}": mean for name, mean in means.items()})
    metrics["artifacts"] = _artifacts(runs, means, cost)
    return metrics


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    return _evaluate(candidate, split)


def evaluate_quick(candidate: Candidate, split: str = "train") -> dict:
    """The leaderboard's stage-1 check: one two-zone run."""
    return _evaluate(candidate, "quick")

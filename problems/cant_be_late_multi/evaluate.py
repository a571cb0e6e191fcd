"""Scores a multi-region Can't Be Late strategy by the mean of its scenario mean costs.

score = 100 * (146.88 - cost) / (146.88 - 46.7088), where cost is the plain mean of the
six scenario means (scenarios weighted equally, as on the ADRS leaderboard); the anchors
are the single-region all-on-demand and all-spot costs. Left unclipped so even a policy
worse than all on-demand gets a gradient; `leaderboard_score` is the clipped value.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

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
    import sky_spot.env  # noqa: F401
    import sky_spot.scenarios  # noqa: F401
    import sky_spot.simulation  # noqa: F401
    import sky_spot.strategies.multi_strategy  # noqa: F401
    import sky_spot.strategies.strategy  # noqa: F401
    import sky_spot.task  # noqa: F401
    import sky_spot.utils  # noqa: F401

    return {n: m for n, m in sys.modules.items() if n == "sky_spot" or n.startswith("sky_spot.")}


_SKY_SPOT = _own_sky_spot()

from evaluators.contract import InvalidProgram, load_program  # noqa: E402
from sky_spot.scenarios import (  # noqa: E402
    DEADLINE_HOURS,
    OVERHEAD_HOURS,
    TASK_HOURS,
    Scenario,
    load_traces,
    scenarios,
)
from sky_spot.simulation import RunResult, SimulationError, run_strategy  # noqa: E402
from sky_spot.strategies.strategy import Strategy  # noqa: E402
from sky_spot.utils import ON_DEMAND_PRICE_PER_HOUR, SPOT_PRICE_PER_HOUR  # noqa: E402

ON_DEMAND_ANCHOR = ON_DEMAND_PRICE_PER_HOUR * TASK_HOURS
SPOT_ANCHOR = SPOT_PRICE_PER_HOUR * TASK_HOURS
PUBLISHED_BASELINE_COST = 82.1869


def _bind_sky_spot() -> None:
    for name in [n for n in sys.modules if n == "sky_spot" or n.startswith("sky_spot.")]:
        if sys.modules[name] is not _SKY_SPOT.get(name):
            del sys.modules[name]
    sys.modules.update(_SKY_SPOT)


def find_strategy(module: ModuleType) -> type[Strategy]:
    """The one concrete strategy class the candidate defines."""
    defined = [
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Strategy) and obj.__module__ == module.__name__
    ]
    leaves = [c for c in defined if not any(o is not c and issubclass(o, c) for o in defined)]
    if not leaves:
        raise InvalidProgram(
            "the program defines no subclass of sky_spot.strategies.multi_strategy.MultiRegionStrategy "
            "with a _step(self, last_cluster_type, has_spot) method"
        )
    if len(leaves) > 1:
        names = ", ".join(sorted(c.__name__ for c in leaves))
        raise InvalidProgram(f"the program defines several strategies ({names}); keep exactly one")
    if not any("_step" in vars(c) for c in leaves[0].__mro__ if c.__module__ == module.__name__):
        raise InvalidProgram(f"{leaves[0].__name__} does not define _step(last_cluster_type, has_spot)")
    return leaves[0]


def leaderboard_score(cost: float) -> float:
    return 100.0 * (ON_DEMAND_ANCHOR - cost) / (ON_DEMAND_ANCHOR - SPOT_ANCHOR)


def simulate_split(strategy_cls: type[Strategy], split: str) -> list[tuple[Scenario, int, RunResult]]:
    traces = load_traces()
    runs = []
    for sc in scenarios(split):
        for window in sc.windows:
            unavailable, prices = traces.run_inputs(sc.zones, window)
            try:
                result = run_strategy(
                    strategy_cls, unavailable, prices, traces.gap_seconds,
                    TASK_HOURS, DEADLINE_HOURS, OVERHEAD_HOURS,
                )
            except SimulationError as exc:
                raise InvalidProgram(f"scenario {sc.name}, window {window}: {exc}") from exc
            runs.append((sc, window, result))
    return runs


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


def _evaluate(program_path: str, split: str) -> dict:
    _bind_sky_spot()
    strategy_cls = find_strategy(load_program(program_path))
    runs = simulate_split(strategy_cls, split)
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


def evaluate(program_path: str, split: str = "train") -> dict:
    return _evaluate(program_path, split)


def evaluate_quick(program_path: str, split: str = "train") -> dict:
    """The leaderboard's stage-1 check: one two-zone run."""
    return _evaluate(program_path, "quick")

"""Scores a broadcast program by the total cost of its transfers, priced from the graph here.

Test is the leaderboard's five transfers; train is five of the same shapes between other
regions (profiles.drawn_transfers). The program runs in its own process (`scoring:
channel`): the graph goes to it as plain rows, `cloudcast_call` builds the networkx graph
there, and the topology comes back as plain rows. Every route must list edges of the graph
whose stated cost and throughput are the graph's, and every partition must reach every
destination from the source over the edges that carry it. The leaderboard's evaluator
checks neither and prices the edge data the program hands back, so empty routes, zeroed
edge data, a graph with its costs set to 0 and destinations fed from regions that never
received the data all score 100 there; here each of them is rejected.
"""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from broadcast_cost import Outcome, Pair, leaderboard_score, simulate
from profiles import Graph, Transfer, drawn_transfers, load_graph, published_transfers

from evolve.evaluators.contract import InvalidProgram, wall_time_limit

if TYPE_CHECKING:
    from evolve.evaluators.channel import Candidate

SPLIT_BUDGET_S = {"train": 30.0, "test": 300.0}
CANDIDATE_CALL = "cloudcast_call:broadcast"


class SearchTimeout(InvalidProgram):
    """The program used up the split's wall-time budget."""


class TransferResult(NamedTuple):
    transfer: Transfer
    outcome: Outcome
    direct: Outcome
    wall_s: float


@cache
def graph() -> Graph:
    return load_graph()


def split_transfers(split: str) -> list[Transfer]:
    if split == "test":
        return published_transfers()
    if split == "train":
        return drawn_transfers(graph())
    raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")


def _checked_edge(edge: object, g: Graph, where: str) -> Pair:
    """(u, v) of an edge of the graph whose stated cost and throughput are the graph's."""
    if not isinstance(edge, list) or len(edge) != 4 or not all(isinstance(x, str) for x in edge[:2]):
        raise InvalidProgram(f"{where}: an edge must be [u, v, G[u][v]], got {str(edge)[:80]}")
    u, v, cost, throughput = edge
    if (u, v) not in g.edges:
        raise InvalidProgram(f"{where}: {u} -> {v} is not an edge of the graph")
    truth = g.edges[(u, v)]
    if cost != truth.cost or throughput != truth.throughput:
        raise InvalidProgram(f"{where}: the edge data of {u} -> {v} states cost {cost!r} $/GB and throughput "
                             f"{throughput!r} Gbps; the graph's are {truth.cost!r} and {truth.throughput!r}")
    return (u, v)


def checked_route(route: object, transfer: Transfer, dst: str, partition: int, g: Graph) -> list[Pair]:
    """The edges listed for partition `partition` on its way to dst, each an edge of the graph."""
    where = f"{transfer.name}: partition {partition} to {dst}"
    if isinstance(route, str):
        raise InvalidProgram(f"{transfer.name}: {route[:200]}")
    if not isinstance(route, list) or not route:
        raise InvalidProgram(f"{where} has no edges; every destination must receive every partition")
    return [_checked_edge(edge, g, where) for edge in route]


def _reached(source: str, edges: set[Pair]) -> set[str]:
    reached, frontier = {source}, [source]
    while frontier:
        node = frontier.pop()
        for u, v in edges:
            if u == node and v not in reached:
                reached.add(v)
                frontier.append(v)
    return reached


def check_delivery(routes: dict[str, list[list[Pair]]], transfer: Transfer) -> None:
    """Every partition reaches every destination from the source over the edges that carry it:
    a region can only forward what it has received."""
    for p in range(transfer.num_partitions):
        carrying = {e for dst in transfer.dsts for e in routes[dst][p]}
        reached = _reached(transfer.src, carrying)
        for dst in transfer.dsts:
            if dst not in reached:
                senders = sorted({u for u, v in routes[dst][p] if u not in reached}) or ["nowhere"]
                raise InvalidProgram(f"{transfer.name}: partition {p} never reaches {dst} from {transfer.src}: "
                                     f"it is sent from {', '.join(senders)}, which never received it")


def checked_routes(answer: object, transfer: Transfer, g: Graph) -> dict[str, list[list[Pair]]]:
    if isinstance(answer, str):
        raise InvalidProgram(f"{transfer.name}: {answer[:200]}")
    if not isinstance(answer, dict) or set(answer) != set(transfer.dsts):
        raise InvalidProgram(f"{transfer.name}: the topology must have routes for exactly the destinations given")
    routes = {}
    for dst in transfer.dsts:
        per_partition = answer[dst]
        if not isinstance(per_partition, list) or len(per_partition) != transfer.num_partitions:
            raise InvalidProgram(f"{transfer.name}: {dst} must have {transfer.num_partitions} partitions' routes")
        routes[dst] = [checked_route(r, transfer, dst, p, g) for p, r in enumerate(per_partition)]
    check_delivery(routes, transfer)
    return routes


def direct_routes(transfer: Transfer) -> dict[str, list[list[Pair]]]:
    """The reference: every partition straight from the source to each destination."""
    return {dst: [[(transfer.src, dst)] for _ in range(transfer.num_partitions)] for dst in transfer.dsts}


def run_transfers(candidate: Candidate, transfers: list[Transfer], budget_s: float) -> list[TransferResult]:
    """One call per transfer, all of them within the split's wall-time budget, timed here."""
    if not candidate.has("search_algorithm"):
        raise InvalidProgram("the program must define search_algorithm(src, dsts, G, num_partitions)")
    g = graph()
    rows = [[u, v, edge.cost, edge.throughput] for (u, v), edge in g.edges.items()]
    deadline = time.perf_counter() + budget_s
    results = []
    for transfer in transfers:
        started = time.perf_counter()
        what = f"search_algorithm used up the split's {budget_s:.0f} s by {transfer.name}"
        with wall_time_limit(deadline - started, SearchTimeout(what)):
            answer = candidate.call(CANDIDATE_CALL, rows, transfer.src, list(transfer.dsts), transfer.num_partitions)
        wall_s = time.perf_counter() - started
        outcome = simulate(transfer, g, checked_routes(answer, transfer, g))
        results.append(TransferResult(transfer, outcome, simulate(transfer, g, direct_routes(transfer)), wall_s))
    return results


def _artifacts(results: list[TransferResult]) -> dict[str, str]:
    lines = ["transfer: cost (egress + instances) vs direct, time, regions used, slowest destination"]
    for r in sorted(results, key=lambda r: -r.outcome.cost / r.direct.cost):
        o = r.outcome
        slowest = max(o.dst_times, key=o.dst_times.get)
        lines.append(f"  {r.transfer.name}: ${o.cost:.2f} (${o.egress:.2f} + ${o.instance:.2f}) vs ${r.direct.cost:.2f}, "
                     f"{o.time_s:.1f} s, {o.regions} regions, {slowest}")
    return {"transfers": "\n".join(lines)}


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    """score = -(total cost in $ over the split's transfers)."""
    results = run_transfers(candidate, split_transfers(split), SPLIT_BUDGET_S[split])
    total = 0.0
    for r in results:
        total += r.outcome.cost
    direct = sum(r.direct.cost for r in results)
    metrics = {
        "score": -total,
        "total_cost": total,
        "direct_cost": direct,
        "saving_vs_direct_pct": 100.0 * (direct - total) / direct,
        "egress_cost": sum(r.outcome.egress for r in results),
        "instance_cost": sum(r.outcome.instance for r in results),
        "max_time_s": max(r.outcome.time_s for r in results),
        "wall_s": sum(r.wall_s for r in results),
    }
    if split == "test":
        metrics["leaderboard_score"] = leaderboard_score(total)
    for r in results:
        metrics[f"cost_{r.transfer.name}"] = r.outcome.cost
    metrics["artifacts"] = _artifacts(results)
    return metrics

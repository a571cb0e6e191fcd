"""Serving metrics of one simulation: latency percentiles, SLO attainment, fairness, cache hits.

TPOT (time per output token) is a request's mean time between tokens after the first, as
DistServe defines its decode SLO; a request attains its SLO when both its TTFT and its
TPOT are within its tenant's targets. Fairness is Jain's index over tenants of the
service each received while requests kept arriving, normalised by its max-min fair share
of the service the cluster delivered in that window (water-filling over the tenants'
demands; service in VTC's weighted tokens: input + 2 x output). A light tenant is owed its
whole demand, so a flood from another tenant that delays it lowers the index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .simulator import INPUT_WEIGHT, OUTPUT_WEIGHT, SimulationResult
from .workload import Tenant


@dataclass(frozen=True)
class TenantReport:
    name: str
    requests: int
    slo_attainment: float
    ttft_p50: float
    ttft_p99: float
    tpot_p99: float
    ttft_misses: int
    tpot_misses: int
    normalised_service: float


@dataclass(frozen=True)
class Report:
    slo_attainment: float
    ttft_p50: float
    ttft_p99: float
    tpot_p50: float
    tpot_p99: float
    e2e_p50: float
    e2e_p99: float
    mean_e2e: float
    throughput_tok_s: float
    jain_fairness: float
    prefix_hit_rate: float
    preemptions: int
    requests: int
    tenants: tuple[TenantReport, ...]


def jain_index(values: np.ndarray) -> float:
    total = float(values.sum())
    if total <= 0:
        return 1.0
    return total * total / (len(values) * float((values * values).sum()))


def max_min_shares(demand: np.ndarray, capacity: float) -> np.ndarray:
    shares = np.zeros_like(demand)
    left = capacity
    order = np.argsort(demand)
    for rank, index in enumerate(order):
        shares[index] = min(demand[index], left / (len(order) - rank))
        left -= shares[index]
    return shares


def summarize(result: SimulationResult, tenants: tuple[Tenant, ...], window_s: float) -> Report:
    """`window_s`: the arrival window over which fairness is measured (after it, queues drain)."""
    reqs = result.requests
    tenant = np.array([r.tenant for r in reqs])
    arrival = np.array([r.arrival for r in reqs])
    first = np.array([r.first_token_time for r in reqs])
    finish = np.array([r.finish_time for r in reqs])
    prompt = np.array([r.turn.prompt_len for r in reqs], dtype=float)
    output = np.array([r.turn.output_len for r in reqs], dtype=float)
    ttft = first - arrival
    tpot = np.where(output > 1, (finish - first) / np.maximum(output - 1, 1), 0.0)
    e2e = finish - arrival
    ttft_slo = np.array([t.ttft_slo_s for t in tenants])[tenant]
    tpot_slo = np.array([t.tpot_slo_s for t in tenants])[tenant]
    ttft_ok = ttft <= ttft_slo
    tpot_ok = tpot <= tpot_slo
    met = ttft_ok & tpot_ok

    cutoff = window_s
    asked = np.where(arrival <= cutoff, INPUT_WEIGHT * prompt + OUTPUT_WEIGHT * output, 0.0)
    span = np.maximum(finish - first, 1e-12)
    produced = np.clip(1 + (output - 1) * (cutoff - first) / span, 0, output)
    served = np.where(first <= cutoff, INPUT_WEIGHT * prompt + OUTPUT_WEIGHT * produced, 0.0)

    demand = np.array([asked[tenant == i].sum() for i in range(len(tenants))])
    received = np.array([served[tenant == i].sum() for i in range(len(tenants))])
    fair = max_min_shares(demand, float(received.sum()))
    shares = np.where(fair > 0, received / np.maximum(fair, 1e-12), 1.0)
    per_tenant = []
    for index, spec in enumerate(tenants):
        mask = tenant == index
        n = int(mask.sum())
        share = float(shares[index])
        per_tenant.append(
            TenantReport(
                spec.name, n, float(met[mask].mean()) if n else 1.0,
                float(np.percentile(ttft[mask], 50)) if n else 0.0,
                float(np.percentile(ttft[mask], 99)) if n else 0.0,
                float(np.percentile(tpot[mask], 99)) if n else 0.0,
                int((~ttft_ok[mask]).sum()), int((~tpot_ok[mask]).sum()), share,
            )
        )
    hits = sum(r.prefix_hits for r in reqs)
    seen = sum(r.prompt_tokens for r in reqs)
    return Report(
        slo_attainment=float(met.mean()),
        ttft_p50=float(np.percentile(ttft, 50)),
        ttft_p99=float(np.percentile(ttft, 99)),
        tpot_p50=float(np.percentile(tpot, 50)),
        tpot_p99=float(np.percentile(tpot, 99)),
        e2e_p50=float(np.percentile(e2e, 50)),
        e2e_p99=float(np.percentile(e2e, 99)),
        mean_e2e=float(e2e.mean()),
        throughput_tok_s=float((prompt.sum() + output.sum()) / result.makespan),
        jain_fairness=jain_index(shares),
        prefix_hit_rate=hits / seen if seen else 0.0,
        preemptions=result.preemptions,
        requests=len(reqs),
        tenants=tuple(per_tenant),
    )

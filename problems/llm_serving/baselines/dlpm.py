"""Deficit Longest Prefix Match (Cao et al., 2025), with its cache-aware distributed dispatch.

Within an instance, the request with the longest cached prefix goes first, as long as its
tenant is not more than a quantum of service ahead of the least-served tenant; tenants
over the quantum wait behind everyone else (the deficit bound keeps locality fair).
Dispatch prefers the instance holding the request's prefix unless it is overloaded.
"""

QUANTUM = 20_000.0  # weighted tokens a tenant may run ahead of the least-served one
BALANCE_THRESHOLD = 0.1


class Scheduler:
    def route(self, request, cluster) -> int:
        def load(inst):
            return (inst.kv_used + inst.waiting_tokens) / inst.kv_capacity

        least = min(cluster.instances, key=load)
        best = max(cluster.instances, key=lambda inst: (inst.cached_prefix_tokens, -load(inst)))
        if best.cached_prefix_tokens > 0 and load(best) - load(least) <= BALANCE_THRESHOLD:
            return best.index
        return least.index

    def priority(self, request, instance, now) -> float:
        deficit = instance.tenant_tokens[request.tenant] - min(instance.tenant_tokens)
        over_quantum = 1.0 if deficit > QUANTUM else 0.0
        return over_quantum * 1e6 - request.cached_prefix_tokens + 1e-3 * request.arrival_time

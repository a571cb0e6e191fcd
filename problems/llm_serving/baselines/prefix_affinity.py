"""Cache-aware dispatch (as in SGLang's router): go where the longest prefix is cached,
unless that instance is much busier than the least-loaded one; FCFS admission."""

BALANCE_THRESHOLD = 0.1  # tolerated excess virtual usage, as a fraction of KV capacity


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
        return request.arrival_time

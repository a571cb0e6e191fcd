"""Scheduler of an LLM serving cluster: where each request runs and in which order.

route(request, cluster) -> int: the instance a new request is sent to (0..N-1).
priority(request, instance, now) -> float: the waiting request with the LOWEST value is
admitted first. The arguments are read-only snapshots described in servesim/views.py.
"""


# EVOLVE-BLOCK-START
class Scheduler:
    """Mostly round-robin dispatch, first-come first-served admission."""

    def __init__(self) -> None:
        self.turn = 0

    def route(self, request, cluster) -> int:
        n = len(cluster.instances)
        self.turn = (self.turn + 1) % n
        best, best_cost = 0, float("inf")
        for inst in cluster.instances:
            cost = (
                2.0 * ((inst.index - self.turn) % n)
                + 0.1 * inst.num_waiting
                + 0.5 * inst.kv_used / inst.kv_capacity
                - 0.1 * inst.cached_prefix_tokens / (request.prompt_len + 1)
            )
            if cost < best_cost:
                best, best_cost = inst.index, cost
        return best

    def priority(self, request, instance, now) -> float:
        return 1.0 * request.arrival_time + 0.0001 * request.predicted_output_len + 0.0001 * request.prompt_len
# EVOLVE-BLOCK-END

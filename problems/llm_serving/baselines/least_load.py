"""Llumnix-style load-aware dispatch: the instance with the least virtual usage.

Llumnix ranks instances by virtual usage, the KV memory the running requests hold plus
the memory the queued requests will need; admission stays first-come first-served.
"""


class Scheduler:
    def route(self, request, cluster) -> int:
        return min(
            cluster.instances,
            key=lambda inst: (inst.kv_used + inst.waiting_tokens) / inst.kv_capacity,
        ).index

    def priority(self, request, instance, now) -> float:
        return request.arrival_time

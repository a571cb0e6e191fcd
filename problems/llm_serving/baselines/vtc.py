"""Virtual Token Counter fair scheduling (Sheng et al., OSDI 2024), least-load dispatch.

The waiting request of the tenant with the least service so far (input tokens plus twice
the output tokens) is admitted first; arrival time breaks ties within a tenant.
"""


class Scheduler:
    def route(self, request, cluster) -> int:
        return min(
            cluster.instances,
            key=lambda inst: (inst.kv_used + inst.waiting_tokens) / inst.kv_capacity,
        ).index

    def priority(self, request, instance, now) -> float:
        return instance.tenant_tokens[request.tenant] + 1e-6 * request.arrival_time

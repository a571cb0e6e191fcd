"""Shortest-job-first on the predicted output length (learning-to-rank style), least-load dispatch.

Requests already preempted keep their place by counting only the tokens they still owe.
"""


class Scheduler:
    def route(self, request, cluster) -> int:
        return min(
            cluster.instances,
            key=lambda inst: (inst.kv_used + inst.waiting_tokens) / inst.kv_capacity,
        ).index

    def priority(self, request, instance, now) -> float:
        return max(request.predicted_output_len - request.generated, 1)

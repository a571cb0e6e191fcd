"""Shortest-job-first on the true output length: a bound, not deployable.

The program is SJF on `predicted_output_len`; it is an oracle only when scored with
`evaluate(path, split, oracle_lengths=True)`, which puts the true length in that field.
"""


class Scheduler:
    def route(self, request, cluster) -> int:
        return min(
            cluster.instances,
            key=lambda inst: (inst.kv_used + inst.waiting_tokens) / inst.kv_capacity,
        ).index

    def priority(self, request, instance, now) -> float:
        return max(request.predicted_output_len - request.generated, 1)

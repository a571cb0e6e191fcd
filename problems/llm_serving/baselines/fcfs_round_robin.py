"""vLLM's default behind a round-robin load balancer: dispatch in turn, admit in arrival order."""


class Scheduler:
    def __init__(self) -> None:
        self.turn = -1

    def route(self, request, cluster) -> int:
        self.turn = (self.turn + 1) % len(cluster.instances)
        return self.turn

    def priority(self, request, instance, now) -> float:
        return request.arrival_time

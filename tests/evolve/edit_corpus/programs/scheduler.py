"""Decide at each step whether a deadline-bound job runs on spot instances, on demand, or waits."""
SPOT, ON_DEMAND, WAIT = "spot", "on_demand", "wait"


class Policy:
    def __init__(self, deadline, task_duration, restart_overhead):
        self.deadline = deadline
        self.task_duration = task_duration
        self.restart_overhead = restart_overhead

    # EVOLVE-BLOCK-START
    def decide(self, elapsed, done, has_spot):
        remaining = self.task_duration - done
        slack = self.deadline - elapsed - remaining
        if slack < self.restart_overhead * SAFETY_MARGIN:
            return ON_DEMAND
        if has_spot:
            return SPOT
        if slack < self.restart_overhead * (SAFETY_MARGIN + 1):
            return ON_DEMAND
        return WAIT
    # EVOLVE-BLOCK-END

    def describe(self):
        return f"deadline {self.deadline}, overhead {self.restart_overhead}"


# EVOLVE-BLOCK-START
SAFETY_MARGIN = 2.0
# EVOLVE-BLOCK-END


def make_policy(deadline, task_duration, restart_overhead):
    return Policy(deadline, task_duration, restart_overhead)

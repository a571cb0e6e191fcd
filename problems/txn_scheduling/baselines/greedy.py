"""Sampled greedy in the style of shortest-makespan-first (SMF) scheduling.

From a random first transaction, repeatedly sample 10 of the remaining transactions and
append the one whose addition increases the makespan least; keep the best of num_seqs
such schedules. This is the benchmark's published starting point (total about 352).
"""

import random

SAMPLES_PER_STEP = 10


def get_best_schedule(workload, num_seqs):
    best = None
    for _ in range(num_seqs):
        remaining = list(range(workload.num_txns))
        schedule = workload.start()
        schedule.append(remaining.pop(random.randrange(len(remaining))))
        while remaining:
            sampled = random.sample(remaining, min(SAMPLES_PER_STEP, len(remaining)))
            chosen = min(sampled, key=schedule.cost_with)
            remaining.remove(chosen)
            schedule.append(chosen)
        if best is None or schedule.makespan < best.makespan:
            best = schedule
    return best.makespan, best.seq

"""Transaction scheduling: order a batch of transactions to minimise the makespan."""

import random


# EVOLVE-BLOCK-START
def get_best_schedule(workload, num_seqs):
    """Sampled greedy: grow a schedule by appending, among a few sampled candidates, the
    transaction that raises the makespan least; keep the best of num_seqs restarts.

    Returns (makespan, schedule) with schedule a permutation of range(workload.num_txns).
    """
    sample_size = 10
    length_weight = 0.0
    best_cost, best_seq = None, None
    for _ in range(num_seqs):
        schedule = workload.start()
        remaining = list(range(workload.num_txns))
        schedule.append(remaining.pop(random.randrange(len(remaining))))
        while remaining:
            picks = random.sample(range(len(remaining)), min(sample_size, len(remaining)))

            def rank(i):
                txn = remaining[i]
                return schedule.cost_with(txn) - length_weight * workload.lengths[txn]

            schedule.append(remaining.pop(min(picks, key=rank)))
        if best_cost is None or schedule.makespan < best_cost:
            best_cost, best_seq = schedule.makespan, schedule.seq
    return best_cost, best_seq
# EVOLVE-BLOCK-END

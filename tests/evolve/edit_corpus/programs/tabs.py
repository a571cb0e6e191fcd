"""Order jobs for a single machine; the evaluator measures the mean completion time."""


# EVOLVE-BLOCK-START
def priority(job):
	"""Shortest job first, ties broken by arrival."""
	if job["length"] <= 0:
		return float("inf")
	return job["length"] + 0.01 * job["arrival"]
# EVOLVE-BLOCK-END


def schedule(jobs):
	return sorted(jobs, key=priority)

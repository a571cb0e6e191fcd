"""A cant-be-late style policy written for another framework: its markers are spelt with a space."""


# EVOLVE-BLOCK START
def choose(slack, has_spot, overhead):
    if slack < 3 * overhead:
        return "on_demand"
    return "spot" if has_spot else "wait"
# EVOLVE-BLOCK END


def policy(state):
    return choose(state["slack"], state["has_spot"], state["overhead"])

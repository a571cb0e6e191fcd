"""Find the minimum of a one-dimensional function with a fixed number of evaluations."""


# EVOLVE-BLOCK-START
def minimize(f, lo, hi, budget):
    """Return an x in [lo, hi] with a small f(x), calling f at most `budget` times.

    The seed is a plain grid search.
    """
    step = (hi - lo) / (budget - 1)
    best_x, best_y = lo, f(lo)
    for i in range(1, budget):
        x = lo + i * step
        y = f(x)
        if y < best_y:
            best_x, best_y = x, y
    return best_x
# EVOLVE-BLOCK-END


def run_search(f, lo, hi, budget):
    return minimize(f, lo, hi, budget)

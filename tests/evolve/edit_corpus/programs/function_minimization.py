"""Find the lowest point of a bumpy two-dimensional landscape within a fixed budget of probes."""
import numpy as np


def evaluate_function(x, y):
    """The landscape; frozen so that every candidate searches the same one."""
    return np.sin(x) * np.cos(y) + np.sin(x * y) + (x**2 + y**2) / 20


# EVOLVE-BLOCK-START
def search_algorithm(iterations=1000, bounds=(-5, 5)):
    """Random search that keeps the best probe."""
    best_x = np.random.uniform(bounds[0], bounds[1])
    best_y = np.random.uniform(bounds[0], bounds[1])
    best_value = evaluate_function(best_x, best_y)

    for _ in range(iterations):
        x = np.random.uniform(bounds[0], bounds[1])
        y = np.random.uniform(bounds[0], bounds[1])
        value = evaluate_function(x, y)
        if value < best_value:
            best_value = value
            best_x, best_y = x, y

    return best_x, best_y, best_value
# EVOLVE-BLOCK-END


def run_search():
    x, y, value = search_algorithm()
    return x, y, value


if __name__ == "__main__":
    x, y, value = run_search()
    print(f"minimum {value:.4f} at ({x:.3f}, {y:.3f})")

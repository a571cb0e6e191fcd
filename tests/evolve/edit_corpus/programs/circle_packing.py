"""Place 26 circles in the unit square so that the sum of their radii is as large as possible."""
import numpy as np

# EVOLVE-BLOCK-START
def construct_packing():
    """Rings of circles around the centre; the radii are then grown as far as they fit."""
    n = 26
    centers = np.zeros((n, 2))
    centers[0] = [0.5, 0.5]
    
    for k in range(8):
        angle = 2 * np.pi * k / 8
        centers[k + 1] = [0.5 + 0.25 * np.cos(angle), 0.5 + 0.25 * np.sin(angle)]
    for k in range(17):
        angle = 2 * np.pi * k / 17
        centers[k + 9] = [0.5 + 0.45 * np.cos(angle), 0.5 + 0.45 * np.sin(angle)]
    centers = np.clip(centers, 0.02, 0.98)
    radii = grow_radii(centers)
    return centers, radii, float(np.sum(radii))


def grow_radii(centers):
    """The largest radii with no overlap and no circle leaving the square."""
    n = centers.shape[0]
    radii = np.array([min(x, y, 1 - x, 1 - y) for x, y in centers])
    for i in range(n):
        for j in range(i + 1, n):
            gap = np.linalg.norm(centers[i] - centers[j])
            if radii[i] + radii[j] > gap:
                shrink = gap / (radii[i] + radii[j])
                radii[i] *= shrink
                radii[j] *= shrink
    return radii
# EVOLVE-BLOCK-END


# Fixed: the evaluator calls run_packing and checks the result itself.
def run_packing():
    centers, radii, total = construct_packing()
    return centers, radii, total


if __name__ == "__main__":
    _, _, total = run_packing()
    print(f"sum of radii: {total:.4f}")

"""Model j on GPU j mod gpu_num: the leaderboard's 0-point (0.0618 mean max KVPR on its cases)."""


def compute_model_placement(gpu_num, models):
    placement = {gpu: [] for gpu in range(gpu_num)}
    for j, model in enumerate(models):
        placement[j % gpu_num].append(model)
    return placement

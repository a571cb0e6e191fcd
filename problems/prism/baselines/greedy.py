"""The greedy placement (= seed.py): 0.0479 mean max KVPR on the leaderboard cases, score 60.82."""

GPU_MEM_SIZE = 80  # GB

# EVOLVE-BLOCK-START
def compute_model_placement(gpu_num, models):
    """Greedy (PRISM's Algorithm 1 without its threshold): the heaviest models first, each on
    the GPU whose pressure is lowest right now among those it fits on.

    models: Model objects (model_size GB, req_rate, slo); return {gpu_id: [models]} with the
    very objects given, every model once, at most GPU_MEM_SIZE GB per GPU.
    """
    placement = {gpu: [] for gpu in range(gpu_num)}
    free = [GPU_MEM_SIZE] * gpu_num
    load = [0.0] * gpu_num
    for model in sorted(models, key=lambda m: m.req_rate / m.slo, reverse=True):
        fitting = [gpu for gpu in range(gpu_num) if free[gpu] > 0 and model.model_size <= free[gpu]]
        if not fitting:
            raise ValueError(f"no GPU has {model.model_size} GB free (free: {free})")
        gpu = min(fitting, key=lambda g: load[g] / free[g])
        placement[gpu].append(model)
        load[gpu] += model.req_rate / model.slo
        free[gpu] -= model.model_size
    return placement
# EVOLVE-BLOCK-END

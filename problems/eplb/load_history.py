"""Synthetic per-window expert load histories for a DeepSeek-V3-sized MoE model.

The published vLLM load trace is not available here, so the history is drawn from a
documented model instead: per-layer expert popularity is log-normal (an expert effect plus
a shared group effect, since DeepSeek routes within groups), it drifts slowly between
windows as a mean-reverting (AR(1)) process that keeps the skew stationary, and each
window's counts are a multinomial draw of routed token-slots (tokens x top-8).
"""

from __future__ import annotations

import numpy as np

NUM_LAYERS = 58
NUM_EXPERTS = 256
NUM_GROUPS = 8
EXPERT_SIGMA = 0.8
GROUP_SIGMA = 0.3
DRIFT_RHO = 0.95
TOKENS_PER_WINDOW = 8192
TOP_K = 8


def load_history(
    seed: int,
    num_windows: int,
    num_layers: int = NUM_LAYERS,
    num_experts: int = NUM_EXPERTS,
    num_groups: int = NUM_GROUPS,
) -> np.ndarray:
    """Token-slot counts, shape [num_windows, num_layers, num_experts], int64."""
    rng = np.random.default_rng(seed)
    group_size = num_experts // num_groups

    def popularity_noise() -> np.ndarray:
        expert = rng.normal(0.0, EXPERT_SIGMA, (num_layers, num_experts))
        group = rng.normal(0.0, GROUP_SIGMA, (num_layers, num_groups))
        return expert + np.repeat(group, group_size, axis=1)

    logits = popularity_noise()
    history = np.empty((num_windows, num_layers, num_experts), dtype=np.int64)
    innovation = np.sqrt(1.0 - DRIFT_RHO**2)
    for window in range(num_windows):
        shares = np.exp(logits - logits.max(axis=1, keepdims=True))
        shares /= shares.sum(axis=1, keepdims=True)
        history[window] = rng.multinomial(TOKENS_PER_WINDOW * TOP_K, shares)
        logits = DRIFT_RHO * logits + innovation * popularity_noise()
    return history

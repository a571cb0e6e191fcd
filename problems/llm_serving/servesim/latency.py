"""Iteration-time model of one model instance, calibrated for Llama-2-7B (fp16) on one A100-80GB.

An iteration of continuous batching costs a fixed part (reading the weights once), a part
per token pushed through the dense layers (prefill chunk tokens and one token per running
decode) and a part per context token the decode attention reads from the KV cache:

    t = c0 + c_p * prefill_tokens + c_d * decodes + c_a * context_tokens

The derivation of every constant (hardware datasheet figures, model shape, efficiency
factors) is written out in the problem README, section "Calibration".
"""

from __future__ import annotations

from dataclasses import dataclass

KV_BYTES_PER_TOKEN = 2 * 32 * 4096 * 2  # K and V, 32 layers, hidden 4096, fp16: 0.5 MiB
WEIGHT_BYTES = 6.74e9 * 2  # Llama-2-7B parameters in fp16
HBM_BYTES_PER_S = 2.039e12  # A100-80GB SXM datasheet bandwidth
PEAK_FLOPS = 312e12  # A100 dense fp16/bf16 tensor-core peak
BANDWIDTH_EFFICIENCY = 0.8
COMPUTE_EFFICIENCY = 0.6
FRAMEWORK_OVERHEAD_S = 1.7e-3  # kernel launches, sampling, scheduler per iteration


@dataclass(frozen=True)
class LatencyModel:
    c0: float
    c_p: float
    c_d: float
    c_a: float

    def iteration_time(self, prefill_tokens: int, decodes: int, context_tokens: int) -> float:
        return self.c0 + self.c_p * prefill_tokens + self.c_d * decodes + self.c_a * context_tokens


def llama2_7b_a100() -> LatencyModel:
    """The calibrated model; kept as arithmetic so the README and the code cannot disagree."""
    c0 = WEIGHT_BYTES / (BANDWIDTH_EFFICIENCY * HBM_BYTES_PER_S) + FRAMEWORK_OVERHEAD_S
    per_token = 2 * 6.74e9 / (COMPUTE_EFFICIENCY * PEAK_FLOPS)
    c_a = KV_BYTES_PER_TOKEN / (BANDWIDTH_EFFICIENCY * HBM_BYTES_PER_S)
    return LatencyModel(c0=c0, c_p=per_token, c_d=per_token, c_a=c_a)


@dataclass(frozen=True)
class InstanceConfig:
    """Engine limits of one instance (vLLM defaults where vLLM has one)."""

    kv_capacity_tokens: int = 98_304  # 6,144 blocks of 16 tokens, see README
    block_size: int = 16
    token_budget: int = 512  # chunked-prefill budget per iteration (Sarathi-Serve)
    max_running: int = 256  # vLLM max_num_seqs
    max_context: int = 4096  # Llama-2 context window

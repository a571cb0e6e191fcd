"""The read-only state a scheduler sees: immutable snapshots built for each call.

Snapshots (named tuples of numbers) rather than live objects, so a scheduler can neither
change the simulation nor read what a real server would not know (the true output
length, the future).
"""

from __future__ import annotations

from typing import NamedTuple


class RequestView(NamedTuple):
    id: int
    tenant: int
    conversation: int
    turn: int  # 0 for the first turn of a conversation
    arrival_time: float  # seconds
    prompt_len: int  # tokens, including the shared prefix
    prefix_len: int  # system prompt plus earlier turns (cacheable)
    predicted_output_len: int  # noisy prediction; the true length is hidden
    generated: int  # tokens already produced (> 0 only after a preemption)
    preemptions: int
    cached_prefix_tokens: int  # prefix found in the cache of the instance it waits at
    ttft_slo: float  # this tenant's time-to-first-token target, seconds
    tpot_slo: float  # this tenant's mean time-between-tokens target, seconds


class InstanceView(NamedTuple):
    index: int
    num_waiting: int
    num_running: int  # admitted: prefilling or decoding
    waiting_tokens: int  # prompt tokens of the waiting requests
    kv_used: int  # KV-cache tokens held by running requests
    kv_capacity: int
    cached_prefix_tokens: int  # route(): the request's prefix cached here; priority(): 0
    tenant_tokens: tuple[float, ...]  # service per tenant so far, cluster-wide (input + 2 x output tokens)


class ClusterView(NamedTuple):
    now: float
    instances: tuple[InstanceView, ...]
    num_tenants: int

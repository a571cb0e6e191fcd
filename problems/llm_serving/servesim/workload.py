"""Multi-tenant chat workloads: bursty conversation arrivals, shared system prompts, multi-turn.

Each tenant starts conversations as a Gamma renewal process (CV > 1 is bursty). A
conversation has a geometric number of turns; turn k's prompt is the tenant's system
prompt, every earlier user message and answer, and the new user message, so later turns
share the earlier ones as a prefix. User-message and answer lengths are log-normal with
the means of published chat-trace statistics (data/README.md). Everything is drawn up
front from a fixed seed, so the workload does not depend on the scheduler; only the
arrival time of a follow-up turn does (it comes a think time after the answer ends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class WorkloadError(ValueError):
    """A scenario description is missing a key or has an impossible value."""


@dataclass(frozen=True)
class Tenant:
    name: str
    conversation_rate: float  # new conversations per second
    arrival_cv: float  # coefficient of variation of inter-arrival times (1 = Poisson)
    system_prompt_len: int
    mean_turns: float
    mean_user_len: float
    mean_output_len: float
    length_sigma: float  # log-normal shape of both length distributions
    mean_think_s: float
    ttft_slo_s: float
    tpot_slo_s: float


@dataclass(frozen=True)
class Turn:
    """One request as the workload defines it; the simulator adds the run-time state."""

    tenant: int
    conversation: int
    turn: int
    start_time: float  # arrival of a first turn; unused for follow-ups
    prompt_len: int
    prefix_len: int  # system prompt plus earlier turns: shareable through the prefix cache
    output_len: int
    predicted_output_len: int
    think_s: float  # delay after this turn's answer before the next turn arrives


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    duration_s: float
    num_instances: int
    prediction_sigma: float
    tenants: tuple[Tenant, ...]


def scenario_from_dict(data: dict) -> Scenario:
    try:
        tenants = tuple(Tenant(**t) for t in data["tenants"])
        scenario = Scenario(
            name=data["name"],
            seed=int(data["seed"]),
            duration_s=float(data["duration_s"]),
            num_instances=int(data["num_instances"]),
            prediction_sigma=float(data["prediction_sigma"]),
            tenants=tenants,
        )
    except (KeyError, TypeError) as exc:
        raise WorkloadError(f"scenario {data.get('name', '?')!r}: bad or missing key ({exc})") from exc
    for t in tenants:
        if t.conversation_rate <= 0 or t.arrival_cv <= 0 or t.mean_turns < 1:
            raise WorkloadError(f"tenant {t.name!r}: rate and cv must be > 0 and mean_turns >= 1")
    return scenario


def _lognormal_ints(rng: np.random.Generator, mean: float, sigma: float, size: int, hi: int) -> np.ndarray:
    mu = np.log(mean) - sigma * sigma / 2.0
    return np.clip(np.rint(rng.lognormal(mu, sigma, size)), 1, hi).astype(np.int64)


def _gamma_arrivals(rng: np.random.Generator, rate: float, cv: float, duration: float) -> np.ndarray:
    shape = 1.0 / (cv * cv)
    expected = int(rate * duration * 1.5) + 20
    gaps = rng.gamma(shape, 1.0 / (rate * shape), expected)
    times = np.cumsum(gaps) - gaps[0] * rng.random()
    while times[-1] < duration:
        more = np.cumsum(rng.gamma(shape, 1.0 / (rate * shape), expected)) + times[-1]
        times = np.concatenate([times, more])
    return times[(times >= 0) & (times < duration)]


def generate(scenario: Scenario, max_context: int, max_output: int = 1024) -> list[list[Turn]]:
    """All conversations of the scenario, each a list of its turns in order."""
    rng = np.random.default_rng(scenario.seed)
    conversations: list[list[Turn]] = []
    for tenant_index, tenant in enumerate(scenario.tenants):
        starts = _gamma_arrivals(rng, tenant.conversation_rate, tenant.arrival_cv, scenario.duration_s)
        n = len(starts)
        turns = rng.geometric(1.0 / tenant.mean_turns, n)
        total = int(turns.sum())
        users = _lognormal_ints(rng, tenant.mean_user_len, tenant.length_sigma, total, max_context // 2)
        outputs = _lognormal_ints(rng, tenant.mean_output_len, tenant.length_sigma, total, max_output)
        noise = rng.lognormal(0.0, scenario.prediction_sigma, total)
        thinks = rng.exponential(tenant.mean_think_s, total)
        k = 0
        for start, count in zip(starts, turns):
            conversation: list[Turn] = []
            prefix = tenant.system_prompt_len
            for turn in range(int(count)):
                user, out = int(users[k]), int(outputs[k])
                pred, think = max(1, int(round(out * noise[k]))), float(thinks[k])
                k += 1
                if prefix + user + out > max_context:
                    break
                conversation.append(
                    Turn(tenant_index, len(conversations), turn, float(start), prefix + user, prefix,
                         out, pred, think)
                )
                prefix += user + out
            if conversation:
                conversations.append(conversation)
    return conversations

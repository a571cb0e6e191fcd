"""Discrete-event, iteration-level simulator of a cluster of LLM serving instances.

Each instance runs continuous batching with chunked prefill: an iteration advances every
decoding request by one token and spends the rest of a token budget on prefill chunks.
Decodes are tracked lazily (a request knows the iteration at which it will finish), so
an iteration costs O(1) Python work plus the requests that start or end in it.

KV memory is counted in tokens; a prompt is allocated in 16-token blocks on admission and
every decode adds one token. When the next iteration's growth does not fit, the prefix
cache shrinks first, then the most recently admitted request is preempted and requeued
for recomputation of its prompt and the tokens it had produced (vLLM's recompute mode).

The scheduler decides twice: `route(request, cluster)` on arrival picks the instance, and
`priority(request, instance, now)` orders that instance's waiting queue (lowest value is
admitted first). Priorities are computed when a request enters the queue and recomputed
for the whole queue every `REPRIORITIZE_EVERY` iterations of the instance, which keeps
the cost linear in the queue length rather than in queue length times iterations.

The simulation never calls the scheduler itself: `steps()` yields each decision as plain
data (an arrival: route it and price it where it goes; a queue to price) and resumes
with the answer, which it checks. `servesim.hosted` turns a decision into the views and
the scheduler's calls, in the candidate's process on the scoring channel or here in
`run()`; `servesim.lockstep` answers the decisions of several scenarios at once.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .hosted import HostedScheduler
from .latency import InstanceConfig, LatencyModel
from .prefix_cache import PrefixCache
from .workload import Tenant, Turn

REPRIORITIZE_EVERY = 16
INPUT_WEIGHT, OUTPUT_WEIGHT = 1.0, 2.0  # VTC's service weights for prompt and output tokens


class SchedulerError(Exception):
    """The scheduler returned an unusable answer, raised, or ran past its time budget."""


Decision = tuple[str, tuple]  # a HostedScheduler method name and its plain-data arguments
Steps = Generator[Decision, Any, "SimulationResult"]


class Request:
    __slots__ = (
        "id", "turn", "tenant", "system_len", "arrival", "next", "instance",
        "prefill_left", "chunk", "alloc", "generated", "decode_start", "epoch",
        "admit_time", "first_token_time", "finish_time", "preemptions", "prefix_hits", "prompt_tokens",
        "recomputed", "abandoned", "prefill_emits",
    )

    def __init__(self, rid: int, turn: Turn, system_len: int) -> None:
        self.id = rid
        self.turn = turn
        self.tenant = turn.tenant
        self.system_len = system_len
        self.arrival = turn.start_time
        self.next: Request | None = None
        self.instance = -1
        self.prefill_left = 0
        self.chunk = 0
        self.alloc = 0
        self.generated = 0
        self.decode_start = 0
        self.epoch = 0
        self.admit_time = -1.0
        self.first_token_time = -1.0
        self.finish_time = -1.0
        self.preemptions = 0
        self.prefix_hits = 0
        self.prompt_tokens = 0  # prompt tokens seen at admissions, the hit-rate denominator
        self.recomputed = 0  # generated tokens prefilled again after preemptions
        self.abandoned = 0  # prefill work dropped by a preemption mid-prefill
        self.prefill_emits = 0  # tokens emitted by prefill completions rather than decode steps


class Instance:
    __slots__ = (
        "index", "waiting", "running", "prefilling", "finishing", "n_dec", "kv_used", "cache",
        "it", "busy", "waiting_tokens", "last_reprioritized", "dec_by_tenant", "batch",
    )

    def __init__(self, index: int, config: InstanceConfig, num_tenants: int) -> None:
        self.index = index
        self.waiting: list = []  # heap of (priority, sequence, request)
        self.running: list[Request] = []  # admission order; the last one is preempted first
        self.prefilling: list[Request] = []
        self.finishing: list = []  # heap of (finish iteration, sequence, epoch, request)
        self.n_dec = 0
        self.kv_used = 0
        self.cache = PrefixCache(config.block_size)
        self.it = 0
        self.busy = False
        self.waiting_tokens = 0
        self.last_reprioritized = 0
        self.dec_by_tenant = [0] * num_tenants
        self.batch: list[Request] = []  # requests given a prefill chunk in the current iteration


@dataclass
class SimulationResult:
    requests: list[Request]
    makespan: float
    prefill_tokens: int  # computed by prefill iterations (misses, recomputation)
    decode_tokens: int  # computed by decode steps
    busy_time: float  # summed over instances
    area_in_system: float  # integral over time of the number of requests in the system
    preemptions: int
    iterations: int


class Simulator:
    """One run of a workload under one scheduler; `run()` returns the per-request record."""

    def __init__(
        self,
        conversations: list[list[Turn]],
        tenants: tuple[Tenant, ...],
        num_instances: int,
        scheduler: object | None,
        latency: LatencyModel,
        config: InstanceConfig,
        oracle_lengths: bool = False,
        time_budget_s: float = math.inf,
    ) -> None:
        self.tenants = tenants
        self.scheduler = scheduler
        self.latency = latency
        self.config = config
        self.oracle = oracle_lengths
        self.time_budget_s = time_budget_s
        self.instances = [Instance(i, config, len(tenants)) for i in range(num_instances)]
        self.tenant_tokens = [0.0] * len(tenants)
        self.requests: list[Request] = []
        self.events: list = []
        self.seq = 0
        for conversation in conversations:
            previous = None
            for turn in conversation:
                req = Request(len(self.requests), turn, tenants[turn.tenant].system_prompt_len)
                self.requests.append(req)
                if previous is None:
                    self._push(req.arrival, 0, req)
                else:
                    previous.next = req
                previous = req

    def _push(self, when: float, kind: int, obj: object) -> None:
        self.seq += 1
        heapq.heappush(self.events, (when, self.seq, kind, obj))

    def _request_fields(self, req: Request, cached: int) -> list:
        """A RequestView's fields, in order (servesim.views)."""
        turn = req.turn
        tenant = self.tenants[req.tenant]
        return [
            req.id, req.tenant, turn.conversation, turn.turn, req.arrival, turn.prompt_len, turn.prefix_len,
            turn.output_len if self.oracle else turn.predicted_output_len, req.generated, req.preemptions,
            cached, tenant.ttft_slo_s, tenant.tpot_slo_s,
        ]

    def _instance_fields(self, inst: Instance, cached: int) -> list:
        """An InstanceView's fields but the last (the cluster-wide tenant service, sent once)."""
        return [inst.index, len(inst.waiting), len(inst.running), inst.waiting_tokens, inst.kv_used,
                self.config.kv_capacity_tokens, cached]

    def _cached(self, req: Request, inst: Instance) -> int:
        turn = req.turn
        return inst.cache.match(req.tenant, turn.conversation, req.system_len, turn.prefix_len, False)

    @staticmethod
    def _priority_value(value: object, req: Request) -> float:
        if isinstance(value, str) or not isinstance(value, int | float):
            raise SchedulerError(f"priority() must return a number, got {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value):
            raise SchedulerError(f"priority() returned {value} for request {req.id}; it must be finite")
        return value

    def _route_choice(self, answer: object) -> tuple[int, object]:
        if not isinstance(answer, list) or len(answer) != 2:
            raise SchedulerError("the scheduler answered an arrival with something other than (instance, priority)")
        choice = answer[0]
        if isinstance(choice, bool) or not isinstance(choice, int):
            raise SchedulerError(f"route() must return an int instance index, got {choice!r}")
        if not 0 <= choice < len(self.instances):
            raise SchedulerError(f"route() returned {choice}; valid indices are 0..{len(self.instances) - 1}")
        return choice, answer[1]

    def _priorities(self, reqs: list[Request], inst: Instance, now: float) -> Generator[Decision, Any, list[float]]:
        """The scheduler's priorities of these requests waiting at inst, in one decision."""
        rows = [self._request_fields(r, self._cached(r, inst)) for r in reqs]
        answer = yield "priorities", (rows, self._instance_fields(inst, 0), list(self.tenant_tokens), now)
        if not isinstance(answer, list) or len(answer) != len(reqs):
            raise SchedulerError(f"the scheduler answered {len(reqs)} priorities with something else")
        return [self._priority_value(value, r) for value, r in zip(answer, reqs)]

    def _enqueue(self, req: Request, inst: Instance, now: float) -> Generator[Decision, Any, None]:
        (prio,) = yield from self._priorities([req], inst, now)
        yield from self._join(req, inst, prio, now)

    def _join(self, req: Request, inst: Instance, prio: float, now: float) -> Generator[Decision, Any, None]:
        self.seq += 1
        heapq.heappush(inst.waiting, (prio, self.seq, req))
        inst.waiting_tokens += req.turn.prompt_len
        if not inst.busy:
            yield from self._start_iteration(inst, now)

    def _arrive(self, req: Request, now: float) -> Generator[Decision, Any, None]:
        """route(), then priority() at the chosen instance: one decision (the per-instance numbers as arrays,
        which cross the channel as raw bytes rather than value by value)."""
        req.arrival = now
        instances = np.array([self._instance_fields(inst, self._cached(req, inst)) for inst in self.instances],
                             dtype=np.int64)
        answer = yield "arrive", (self._request_fields(req, 0), now, len(self.tenants), instances,
                                  np.array(self.tenant_tokens))
        choice, prio = self._route_choice(answer)
        req.instance = choice
        yield from self._join(req, self.instances[choice], self._priority_value(prio, req), now)

    def _reprioritize(self, inst: Instance, now: float) -> Generator[Decision, Any, None]:
        inst.last_reprioritized = inst.it
        entries = inst.waiting
        values = yield from self._priorities([r for _, _, r in entries], inst, now)
        queue = [(value, s, r) for value, (_, s, r) in zip(values, entries)]
        heapq.heapify(queue)
        inst.waiting = queue

    def _preempt(self, inst: Instance) -> Generator[Decision, Any, None]:
        victim = inst.running.pop()
        if victim.prefill_left > 0:
            inst.prefilling.remove(victim)
            victim.abandoned += victim.prefill_left
            footprint = victim.alloc
        else:
            done = inst.it - victim.decode_start
            victim.generated += done
            footprint = victim.alloc + done
            victim.epoch += 1
            inst.n_dec -= 1
            inst.dec_by_tenant[victim.tenant] -= 1
        inst.kv_used -= footprint
        victim.preemptions += 1
        self.preemptions += 1
        yield from self._enqueue(victim, inst, self.now)

    def _admit(self, inst: Instance, budget: int) -> int:
        """Admit waiting requests in priority order while memory and budget allow."""
        config = self.config
        capacity = config.kv_capacity_tokens
        block = config.block_size
        waiting = inst.waiting
        while waiting and budget > 0 and len(inst.running) < config.max_running:
            req = waiting[0][2]
            turn = req.turn
            tokens = turn.prompt_len + req.generated
            alloc = -(-tokens // block) * block
            free = capacity - inst.kv_used - inst.n_dec
            if alloc > free:
                break
            if alloc + inst.cache.size > free:
                inst.cache.evict_to(free - alloc)
            heapq.heappop(waiting)
            inst.waiting_tokens -= turn.prompt_len
            hit = inst.cache.match(req.tenant, turn.conversation, req.system_len, turn.prefix_len, True)
            hit = min(hit, tokens - 1)
            req.prefix_hits += hit
            req.prompt_tokens += turn.prompt_len
            req.recomputed += req.generated
            req.prefill_left = tokens - hit
            req.alloc = alloc
            if req.admit_time < 0:
                req.admit_time = self.now
            inst.kv_used += alloc
            inst.running.append(req)
            inst.prefilling.append(req)
            budget -= req.prefill_left
        return budget

    def _start_iteration(self, inst: Instance, now: float) -> Generator[Decision, Any, None]:
        config = self.config
        capacity = config.kv_capacity_tokens
        while inst.kv_used + inst.n_dec > capacity:
            yield from self._preempt(inst)
        if inst.kv_used + inst.n_dec + inst.cache.size > capacity:
            inst.cache.evict_to(capacity - inst.kv_used - inst.n_dec)
        if inst.waiting and inst.it - inst.last_reprioritized >= REPRIORITIZE_EVERY:
            yield from self._reprioritize(inst, now)
        n_dec = inst.n_dec
        budget = config.token_budget - n_dec
        pending = sum(r.prefill_left for r in inst.prefilling)
        if inst.waiting and budget > pending:
            self._admit(inst, budget - pending)
        batch = inst.batch
        batch.clear()
        prefill = 0
        for req in inst.prefilling:
            if budget <= 0:
                break
            chunk = req.prefill_left if req.prefill_left < budget else budget
            req.chunk = chunk
            budget -= chunk
            prefill += chunk
            batch.append(req)
        if not batch and n_dec == 0:
            inst.busy = False
            return
        inst.kv_used += n_dec
        tokens = self.tenant_tokens
        for tenant, count in enumerate(inst.dec_by_tenant):
            if count:
                tokens[tenant] += OUTPUT_WEIGHT * count
        duration = self.latency.iteration_time(prefill, n_dec, inst.kv_used)
        self.prefill_tokens += prefill
        self.decode_tokens += n_dec
        self.busy_time += duration
        self.iterations += 1
        inst.busy = True
        self._push(now + duration, 1, inst)

    def _finish(self, inst: Instance, req: Request, now: float, footprint: int) -> None:
        req.finish_time = now
        inst.kv_used -= footprint
        inst.running.remove(req)
        self.in_system -= 1
        turn = req.turn
        inst.cache.insert(turn.conversation, turn.prompt_len + turn.output_len - req.system_len)
        if req.next is not None:
            self._push(now + turn.think_s, 0, req.next)

    def _end_iteration(self, inst: Instance, now: float) -> Generator[Decision, Any, None]:
        ended = inst.it
        inst.it += 1
        finishing = inst.finishing
        while finishing and finishing[0][0] <= ended:
            _, _, epoch, req = heapq.heappop(finishing)
            if epoch != req.epoch:
                continue
            inst.n_dec -= 1
            inst.dec_by_tenant[req.tenant] -= 1
            self._finish(inst, req, now, req.alloc + req.turn.output_len - req.generated)
            req.generated = req.turn.output_len
        tokens = self.tenant_tokens
        for req in inst.batch:
            req.prefill_left -= req.chunk
            if req.prefill_left > 0:
                continue
            inst.prefilling.remove(req)
            req.generated += 1
            req.prefill_emits += 1
            if req.first_token_time < 0:
                req.first_token_time = now
                tokens[req.tenant] += INPUT_WEIGHT * req.turn.prompt_len + OUTPUT_WEIGHT
                inst.cache.insert(PrefixCache.system_key(req.tenant), req.system_len)
            else:
                tokens[req.tenant] += OUTPUT_WEIGHT
            remaining = req.turn.output_len - req.generated
            if remaining <= 0:
                self._finish(inst, req, now, req.alloc)
                continue
            req.decode_start = inst.it
            inst.n_dec += 1
            inst.dec_by_tenant[req.tenant] += 1
            self.seq += 1
            heapq.heappush(finishing, (ended + remaining, self.seq, req.epoch, req))
        inst.batch = []
        yield from self._start_iteration(inst, now)

    def run(self) -> SimulationResult:
        """The whole simulation under this process's scheduler object (tests, fidelity checks)."""
        hosted = HostedScheduler(self.scheduler)
        steps = self.steps()
        answer = None
        try:
            while True:
                method, args = steps.send(answer)
                try:
                    answer = getattr(hosted, method)(*args)
                except Exception as exc:
                    raise SchedulerError(f"the scheduler raised {type(exc).__name__}: {exc}") from exc
        except StopIteration as done:
            return done.value

    def steps(self) -> Steps:
        """The simulation as a generator of decisions; its return value is the SimulationResult."""
        self.now = 0.0
        self.prefill_tokens = self.decode_tokens = self.preemptions = self.iterations = 0
        self.busy_time = self.area = 0.0
        self.in_system = 0
        deadline = time.perf_counter() + self.time_budget_s
        events = self.events
        pop = heapq.heappop
        count = 0
        while events:
            when, _, kind, obj = pop(events)
            self.area += self.in_system * (when - self.now)
            self.now = when
            if kind:
                yield from self._end_iteration(obj, when)
            else:
                self.in_system += 1
                yield from self._arrive(obj, when)
            count += 1
            if not count & 511 and time.perf_counter() > deadline:
                raise SchedulerError(f"simulation exceeded its {self.time_budget_s:.0f} s budget; the scheduler is too slow")
        return SimulationResult(
            self.requests, self.now, self.prefill_tokens, self.decode_tokens, self.busy_time, self.area,
            self.preemptions, self.iterations,
        )

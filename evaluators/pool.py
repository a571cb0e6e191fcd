"""Evaluation on Ray: one actor per slot, each owning a warm fork server.

The problem folder is shipped once through the object store and unpacked on each node by
content hash, so workers never read the driver's disk. ``evaluate_file`` runs the same
sandbox and cascade without Ray, for scoring one file from the command line, and
``LocalFirstPool`` uses it to score a run's first candidates while Ray starts.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

import ray

from evolve.evaluators.bundle import pack_problem, unpack_problem
from evolve.evaluators.cascade import run_cascade
from evolve.evaluators.confinement import warn_once
from evolve.evaluators.local_slot import LocalSlot, unpacked_sandbox
from evolve.evaluators.problem import Problem, ProblemError, require_packages
from evolve.evaluators.result import EvaluationResult
from evolve.evaluators.sandbox import Sandbox, SandboxError

log = logging.getLogger(__name__)

OBJECT_STORE_BYTES = 100 * 1024 * 1024
READY_TIMEOUT_S = 600.0


def _check_split(problem: Problem, split: str) -> None:
    if split not in problem.splits:
        raise ProblemError(f"problem {problem.name} has no split '{split}' (it has: {', '.join(problem.splits)})")


def announce_scoring(problem: Problem) -> None:
    """Say once, in the driver, when a problem's scores are only as honest as its candidates."""
    if problem.scoring == "in_process":
        warn_once("in-process", f"{problem.name} scores candidates in the scorer's own process (scoring: in_process): "
                  "a hostile candidate can forge its score or read the problem's data; docs/writing-a-problem.md "
                  "shows how to move it onto the channel (scoring: channel)")


def evaluate_file(problem: Problem, path: str | Path, split: str = "train") -> EvaluationResult:
    """Score one program file with the run's sandbox and cascade, in this process's machine."""
    _check_split(problem, split)
    require_packages(problem)
    announce_scoring(problem)
    code = Path(path).read_text()
    with unpacked_sandbox(problem) as sandbox:
        result = run_cascade(sandbox, code, split, problem.cascade_threshold)
    result.node = socket.gethostname()
    return result


class _NotFromMainThread(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("SIGTERM handler is not set")


def quiet_ray_notices() -> None:
    """Notices Ray logs on every start that are no news here: that it secured the cluster
    with a token (the setting we want), that other private Rays run on this machine beside
    the cluster it joins, and that a start from a thread sets no SIGTERM handler (the
    driver has its own)."""
    for name in ("ray._private.authentication.authentication_token_setup", "ray._private.services"):
        logging.getLogger(name).setLevel(logging.ERROR)
    worker_log = logging.getLogger("ray._private.worker")
    if not any(isinstance(f, _NotFromMainThread) for f in worker_log.filters):
        worker_log.addFilter(_NotFromMainThread())


class EvaluationWorker:
    """A Ray actor holding one fork server; it evaluates one candidate at a time."""

    def __init__(self, digest: str, bundle: bytes, problem: Problem) -> None:
        self.sandbox = Sandbox.for_problem(problem, unpack_problem(digest, bundle))
        self.failure: str | None = None
        try:
            self.sandbox.start()
        except SandboxError as exc:  # kept for ready(): an actor that dies here has Ray print its traceback
            self.failure = str(exc)
        self.threshold = problem.cascade_threshold
        context = ray.get_runtime_context()
        self.node = f"{context.get_node_id()}@{ray.util.get_node_ip_address()}"

    def ready(self) -> str:
        """The node this slot runs on; raises (in the driver, without Ray's log) when its sandbox failed."""
        if self.failure is not None:
            raise SandboxError(self.failure)
        return self.node

    def evaluate(self, code: str, split: str) -> dict[str, Any]:
        result = run_cascade(self.sandbox, code, split, self.threshold)
        result.node = self.node
        return result.to_dict()

    def close(self) -> None:
        self.sandbox.close()


class EvaluationPool:
    """``slots`` evaluation actors, each requesting the CPUs and GPUs of problem.yaml.

    ``ray_address=None`` starts a private local Ray (never one already running on this
    machine), in ``temp_dir`` when given; "auto" or "host:port" joins a cluster. A Ray
    already initialised in this process is used as it is.
    """

    def __init__(self, problem: Problem, slots: int, ray_address: str | None = None,
                 temp_dir: str | None = None) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        require_packages(problem)
        self.problem = problem
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            quiet_ray_notices()
            if ray_address is None:
                cpus = max(os.cpu_count() or 1, math.ceil(slots * problem.limits.cpus))
                ray.init(address="local", num_cpus=cpus, include_dashboard=False, _temp_dir=temp_dir,
                         object_store_memory=OBJECT_STORE_BYTES, logging_level=logging.WARNING)
            else:
                ray.init(address=ray_address, logging_level=logging.WARNING)
        gpus = problem.limits.gpus
        if gpus > ray.cluster_resources().get("GPU", 0):
            log.warning("problem %s asks for %g GPUs per slot but the cluster has none to spare; "
                        "slots run without a GPU and GPU stages report 'unavailable'", problem.name, gpus)
            gpus = 0
        self._workers: list[Any] = []
        self._refuse_too_few_cpus(slots)
        digest, bundle = pack_problem(problem.root)
        self._bundle_ref = ray.put(bundle)
        self._actor_class = ray.remote(num_cpus=problem.limits.cpus, num_gpus=gpus, max_concurrency=1,
                                       scheduling_strategy="SPREAD")(EvaluationWorker)
        self._args = (digest, self._bundle_ref, problem)
        self._workers = [self._actor_class.remote(*self._args) for _ in range(slots)]
        try:
            self._nodes = ray.get([w.ready.remote() for w in self._workers], timeout=READY_TIMEOUT_S)
        except ray.exceptions.RayTaskError as exc:
            self.close()
            raise SandboxError(str(exc.cause) if isinstance(exc.cause, SandboxError) else str(exc)) from None
        except ray.exceptions.RayActorError as exc:
            self.close()
            raise SandboxError(f"evaluation workers for {problem.name} failed to start: {exc}") from None
        self._idle: list[Any] = list(self._workers)
        self._queue: asyncio.Queue[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _refuse_too_few_cpus(self, slots: int) -> None:
        """Slots a cluster cannot hold would wait for CPUs that never come free."""
        cpus = self.problem.limits.cpus
        needed, offered = slots * cpus, ray.cluster_resources().get("CPU", 0.0)
        if needed > offered:
            self.close()
            raise ProblemError(f"{slots} evaluation slots of {cpus:g} CPU ({self.problem.name}'s limits.cpus) need "
                               f"{needed:g} CPUs, but the Ray cluster offers {offered:g}; lower -k or evaluation.slots, "
                               "or give the cluster more (evolve cluster up --cpus N)")

    def nodes(self) -> list[str]:
        """The node (id@ip) each slot runs on."""
        return list(self._nodes)

    def _free(self) -> asyncio.Queue[Any]:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:
            self._queue, self._loop = asyncio.Queue(), loop
            for worker in self._idle:
                self._queue.put_nowait(worker)
        return self._queue

    async def evaluate(self, code: str, split: str = "train") -> EvaluationResult:
        """Run the cascade for ``code`` on a free slot; waits while all slots are busy."""
        _check_split(self.problem, split)
        announce_scoring(self.problem)
        free = self._free()
        worker = await free.get()
        self._idle.remove(worker)
        try:
            return EvaluationResult.from_dict(await worker.evaluate.remote(code, split))
        except ray.exceptions.RayActorError as exc:
            log.warning("an evaluation worker died (%s); replacing it", exc)
            index = self._workers.index(worker)
            worker = self._actor_class.remote(*self._args)
            self._workers[index] = worker
            return EvaluationResult(status="error", artifacts={"error": f"the evaluation worker died: {exc}"})
        finally:
            self._idle.append(worker)
            free.put_nowait(worker)

    def close(self) -> None:
        """Stop the fork servers and the actors; shut Ray down only if this pool started it."""
        try:
            ray.get([w.close.remote() for w in self._workers], timeout=30)
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
            pass
        for worker in self._workers:
            ray.kill(worker)
        self._workers = []
        if self._owns_ray:
            ray.shutdown()


class LocalFirstPool:
    """A run's evaluator: one local sandbox scores candidates while the Ray pool starts in a
    thread, then the Ray pool alone.

    Starting Ray (seconds for a private one; on a warm cluster still a fresh process per
    actor) need not hold the run back: the seed and the first candidates go through the
    same sandbox and cascade ``evolve eval`` uses, in this machine (a ``LocalSlot``, which
    ``evolve run`` may have started and begun the seed on before importing this module),
    and the Ray pool takes every evaluation once all its slots are ready. A problem that
    needs a GPU waits for Ray.
    """

    def __init__(self, problem: Problem, slots: int, ray_address: str | None = None,
                 temp_dir: str | None = None, local: LocalSlot | None = None) -> None:
        require_packages(problem)
        self.problem = problem
        self.local_evaluations = 0
        self.ready_after_s: float | None = None  # when the Ray pool was ready, from construction
        started = time.monotonic()
        # A thread that lives as long as the pool: the processes Ray starts die with the
        # thread that started them (PR_SET_PDEATHSIG), not only with this process.
        self._ray_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ray-pool")
        self._ray: Future[EvaluationPool] = self._ray_thread.submit(EvaluationPool, problem, slots, ray_address, temp_dir)
        self._ray.add_done_callback(lambda _: setattr(self, "ready_after_s", time.monotonic() - started))
        if local is None and problem.limits.gpus == 0:
            local = LocalSlot(problem)
        self._local: LocalSlot | None = local
        self._local_busy = False
        self._orphan: LocalSlot | None = None  # a slot whose evaluation was cancelled mid-way
        self._local_node = f"local@{socket.gethostname()}"
        self._waiters: list[asyncio.Future[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._begun: dict[tuple[str, str], asyncio.Task[EvaluationResult]] = {}
        self._abandoned: BaseException | None = None

    async def started(self) -> EvaluationPool:
        """The Ray pool once all its slots are ready; raises what stopped it from starting."""
        return await asyncio.shield(asyncio.wrap_future(self._ray))

    def nodes(self) -> list[str]:
        return self._ray.result().nodes()

    def start_error(self) -> BaseException | None:
        """What stopped the Ray pool from starting, once it has stopped trying."""
        return self._ray.exception() if self._ray.done() else None

    def _bind(self) -> None:
        """Wake waiting evaluations from the starting threads, through the run's event loop."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self._loop = loop
        def wake_from_thread(done: Future[Any]) -> None:
            if done.exception() is None:
                with suppress(RuntimeError):  # the run's loop has ended: nothing waits any more
                    loop.call_soon_threadsafe(self._wake)

        for future in [self._ray] + ([self._local.starting()] if self._local is not None else []):
            future.add_done_callback(wake_from_thread)

    def _wake(self) -> None:
        """Let waiting evaluations look again; not once the Ray pool has failed: they wait for
        the run to cancel them (``abandon``), so none is recorded as the framework's fault."""
        if self.start_error() is not None:
            return
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def abandon(self, error: BaseException) -> None:
        """Fail what still waits for the Ray pool (after the run cancelled its candidates)."""
        self._abandoned = error
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error)

    def _local_free(self, code: str, split: str) -> bool:
        """The slot can take ``code`` now: it is up and idle, or it was begun on this very code."""
        local = self._local
        if local is None or self._local_busy:
            return False
        return local.usable() or (local.has_begun(code, split) and not local.starting().done())

    def begin(self, code: str, split: str = "train") -> None:
        """Start scoring ``code`` now (the seed, while the mutator is still being built); the
        first ``evaluate`` of the same code and split gets this result."""
        _check_split(self.problem, split)
        self._begun[code, split] = asyncio.get_running_loop().create_task(self._evaluate(code, split))

    async def evaluate(self, code: str, split: str = "train") -> EvaluationResult:
        """Score ``code`` on the Ray pool when it is ready, before that in the local sandbox."""
        begun = self._begun.pop((code, split), None)
        if begun is None:
            _check_split(self.problem, split)
        result = await (begun if begun is not None else self._evaluate(code, split))
        announce_scoring(self.problem)  # once a result reaches the run: a run that stops first says nothing
        return result

    async def _evaluate(self, code: str, split: str) -> EvaluationResult:
        """An evaluation that arrives after the Ray pool failed to start waits, like those
        already waiting, for the run to cancel it: the failure is the run's, not this candidate's."""
        self._bind()
        while not self._ray.done() or self._ray.exception() is not None:
            if self._abandoned is not None:
                raise self._abandoned
            if not self._ray.done() and self._local_free(code, split):
                result = await self._evaluate_locally(code, split)
                if result is not None:
                    return result
                continue
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        self._retire_local()
        return await self._ray.result().evaluate(code, split)

    async def _evaluate_locally(self, code: str, split: str) -> EvaluationResult | None:
        """None when the local sandbox broke or never started: the evaluation then waits for Ray."""
        local = self._local
        assert local is not None
        self._local_busy = True
        try:
            result = await asyncio.wrap_future(local.submit(code, split))
        except asyncio.CancelledError:
            self._local, self._orphan = None, local  # its thread may still be using it; close() ends it
            raise
        except Exception as exc:
            if not local.usable():  # it never started: the Ray pool's sandboxes report why
                result = None
            elif isinstance(exc, SandboxError):
                log.warning("the local sandbox failed (%s); evaluations wait for the Ray pool", exc)
                result = None
            else:
                raise
        finally:
            self._local_busy = False
            self._wake()
        if result is None or self._ray.done():
            self._retire_local()
        if result is not None:
            self.local_evaluations += 1
            result.node = self._local_node
        return result

    def _retire_local(self) -> None:
        local = self._local
        if local is None or self._local_busy:
            return
        self._local = None
        local.close()

    def close(self) -> None:
        """Wait for the Ray pool if it is still starting, then stop the local sandbox and the Ray pool."""
        for begun in self._begun.values():
            begun.cancel()
        for slot in (self._local, self._orphan):
            if slot is not None:
                slot.close()
        self._local = self._orphan = None
        if self._ray.exception() is None:
            self._ray.result().close()
        self._ray_thread.shutdown(wait=False)

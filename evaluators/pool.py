"""Evaluation on Ray: one actor per slot, each owning a warm fork server.

The problem folder is shipped once through the object store and unpacked on each node by
content hash, so workers never read the driver's disk. ``evaluate_file`` runs the same
sandbox and cascade without Ray, for scoring one file from the command line.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
from pathlib import Path
from typing import Any

import ray

from evolve.evaluators.bundle import pack_problem, unpack_problem
from evolve.evaluators.cascade import run_cascade
from evolve.evaluators.confinement import warn_once
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
    digest, bundle = pack_problem(problem.root)
    with Sandbox.for_problem(problem, unpack_problem(digest, bundle)) as sandbox:
        result = run_cascade(sandbox, code, split, problem.cascade_threshold)
    result.node = socket.gethostname()
    return result


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
    machine); "auto" or "host:port" joins a cluster. A Ray already initialised in this
    process is used as it is.
    """

    def __init__(self, problem: Problem, slots: int, ray_address: str | None = None) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        require_packages(problem)
        self.problem = problem
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            if ray_address is None:
                # Ray announces, as a warning on every start, that it secured the private
                # cluster with a token; that is the setting we want, so it is not news.
                logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
                cpus = max(os.cpu_count() or 1, math.ceil(slots * problem.limits.cpus))
                ray.init(address="local", num_cpus=cpus, include_dashboard=False,
                         object_store_memory=OBJECT_STORE_BYTES, logging_level=logging.WARNING)
            else:
                ray.init(address=ray_address, logging_level=logging.WARNING)
        gpus = problem.limits.gpus
        if gpus > ray.cluster_resources().get("GPU", 0):
            log.warning("problem %s asks for %g GPUs per slot but the cluster has none to spare; "
                        "slots run without a GPU and GPU stages report 'unavailable'", problem.name, gpus)
            gpus = 0
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

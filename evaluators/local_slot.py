"""One sandbox on this machine that can start before anything heavy is imported.

A fresh run's first evaluation is its seed's, and the seed needs neither Ray, the
database nor a model: ``evolve run`` starts this slot and begins the seed on it as soon as
the problem and the configuration are known, so the fork server imports the evaluator
and scores the seed on another core while the driver imports the rest.
``LocalFirstPool`` then takes the slot over and scores on it until its Ray pool is ready.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from evolve.evaluators.bundle import pack_problem, unpack_problem
from evolve.evaluators.cascade import run_cascade
from evolve.evaluators.problem import Problem, require_packages
from evolve.evaluators.result import EvaluationResult
from evolve.evaluators.sandbox import Sandbox

log = logging.getLogger(__name__)


def unpacked_sandbox(problem: Problem) -> Sandbox:
    """A sandbox over the problem's unpacked copy, the files a Ray worker scores with."""
    digest, bundle = pack_problem(problem.root)
    return Sandbox.for_problem(problem, unpack_problem(digest, bundle))


class LocalSlot:
    """A sandbox started in a thread of its own, which scores one program at a time.

    The thread lives as long as the slot: the fork server dies with the thread that
    started it (PR_SET_PDEATHSIG), not only with this process.
    """

    def __init__(self, problem: Problem) -> None:
        require_packages(problem)
        self.problem = problem
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-sandbox")
        self._sandbox: Future[Sandbox] = self._thread.submit(self._start)
        self._begun: dict[tuple[str, str], Future[EvaluationResult]] = {}
        self._closed = False

    def _start(self) -> Sandbox:
        sandbox = unpacked_sandbox(self.problem)
        try:
            sandbox.start()
        except BaseException as exc:
            sandbox.close()
            # The Ray pool's sandboxes meet the same cause and report it; until then, evaluations wait.
            log.debug("the local sandbox did not start (%s); evaluations wait for the Ray pool", exc)
            raise
        return sandbox

    def starting(self) -> Future[Sandbox]:
        """Done once the sandbox is up, or with the error that kept it down."""
        return self._sandbox

    def usable(self) -> bool:
        return not self._closed and self._sandbox.done() and self._sandbox.exception() is None

    def begin(self, code: str, split: str) -> None:
        """Queue ``code``'s evaluation behind the start; ``submit`` of the same code and split gets it."""
        self._begun[code, split] = self._thread.submit(self._evaluate, code, split)

    def has_begun(self, code: str, split: str) -> bool:
        return (code, split) in self._begun

    def submit(self, code: str, split: str) -> Future[EvaluationResult]:
        """The evaluation of ``code`` in this slot: the one begun earlier, else a new one."""
        begun = self._begun.pop((code, split), None)
        return begun if begun is not None else self._thread.submit(self._evaluate, code, split)

    def _evaluate(self, code: str, split: str) -> EvaluationResult:
        return run_cascade(self._sandbox.result(), code, split, self.problem.cascade_threshold)

    def close(self) -> None:
        """Stop the fork server (an evaluation still running in it fails) and let the thread go."""
        if self._closed:
            return
        self._closed = True
        for begun in self._begun.values():
            begun.cancel()
        self._begun.clear()
        if self._sandbox.done():
            if self._sandbox.exception() is None:
                self._sandbox.result().close()
        else:
            self._sandbox.add_done_callback(lambda started: started.exception() or started.result().close())
        self._thread.shutdown(wait=False)

"""Fixtures for the evolve tests: the scripted OpenAI-compatible server, sample requests and a
sandbox-backed pool."""

from __future__ import annotations

import asyncio
import os
import threading
from types import ModuleType
from typing import Callable, Iterator

import pytest

from evolve.database.records import ProgramView
from evolve.evaluators.bundle import pack_problem, unpack_problem
from evolve.evaluators.cascade import run_cascade
from evolve.evaluators.problem import Problem
from evolve.evaluators.sandbox import Sandbox
from evolve.mutation import MutationRequest
from tests.support import openai_server as scripted_server

# Before any test module imports litellm: never fetch its price map from the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PROGRAM = '''import math

# EVOLVE-BLOCK-START
def priority(item, bins):
    """Prefer the fullest bin that fits."""
    slack = bins - item
    return -slack * 1.0
# EVOLVE-BLOCK-END


def choose(item, bins):
    scores = priority(item, bins)
    return max(range(len(bins)), key=lambda i: scores[i])


# EVOLVE-BLOCK-START
THRESHOLD = 5
# EVOLVE-BLOCK-END
'''


class SandboxEvaluator:
    """The pool's contract over one warm sandbox, serialised and counting its evaluations:
    enough for a driver-side test without Ray."""

    def __init__(self, problem: Problem, threshold: float | None = None) -> None:
        self.sandbox = Sandbox.for_problem(problem, unpack_problem(*pack_problem(problem.root)))
        self.sandbox.start()
        self.threshold = threshold
        self.lock = threading.Lock()
        self.calls = 0

    def _run(self, code: str, split: str):
        with self.lock:
            self.calls += 1
            return run_cascade(self.sandbox, code, split, self.threshold)

    async def evaluate(self, code: str, split: str = "train"):
        return await asyncio.to_thread(self._run, code, split)


@pytest.fixture
def sandbox_pool() -> Iterator[Callable[..., SandboxEvaluator]]:
    """Makes a SandboxEvaluator for a problem; every one made is closed after the test."""
    made: list[SandboxEvaluator] = []

    def make(problem: Problem, threshold: float | None = None) -> SandboxEvaluator:
        made.append(SandboxEvaluator(problem, threshold))
        return made[-1]

    yield make
    for pool in made:
        pool.sandbox.close()


@pytest.fixture(scope="session")
def server_module() -> ModuleType:
    return scripted_server


@pytest.fixture
def openai_server(server_module: ModuleType) -> Iterator[object]:
    server = server_module.ScriptedOpenAIServer(port=0, mode="valid").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def program_code() -> str:
    return PROGRAM


@pytest.fixture
def make_request() -> Callable[..., MutationRequest]:
    def make(
        code: str = PROGRAM,
        score: float | None = -3.5,
        metrics: dict | None = None,
        artifacts: dict | None = None,
        inspirations: list[ProgramView] | None = None,
        failures: list[str] | None = None,
        templates_dir: str | None = None,
        seed: int = 0,
    ) -> MutationRequest:
        parent = ProgramView(
            id=1,
            run_id=1,
            parent_id=None,
            island=0,
            generation=2,
            code=code,
            code_hash="h",
            origin="seed",
            status="ok",
            score=score,
            metrics=metrics if metrics is not None else {"excess_pct": 3.5, "bins": 212},
            artifacts=artifacts if artifacts is not None else {},
        )
        return MutationRequest(
            problem_name="toy",
            description="Pack items into as few bins as possible.",
            parent=parent,
            inspirations=inspirations or [],
            failures=failures or [],
            island=0,
            generation=3,
            seed=seed,
            templates_dir=templates_dir,
        )

    return make

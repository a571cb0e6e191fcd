"""Fixtures for the evolve tests: the scripted OpenAI-compatible server and sample requests."""

from __future__ import annotations

import os
from types import ModuleType
from typing import Callable, Iterator

import pytest

from evolve.database.records import ProgramView
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

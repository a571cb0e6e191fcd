"""Fixtures shared across the suite. Keep only generic ones here."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

TINY_SEED = """\
# EVOLVE-BLOCK-START
def solve(x):
    return x
# EVOLVE-BLOCK-END
"""

TINY_EVALUATOR = """\
from evolve.evaluators.contract import load_program


def evaluate(program_path, split="train"):
    program = load_program(program_path)
    value = program.solve(2 if split == "train" else 3)
    return {"score": float(value), "split_seen": split}
"""


@pytest.fixture
def tiny_problem(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """Make a small problem folder and load it: ``tiny_problem(evaluator=..., seed=..., files=..., **yaml_keys)``.

    Sources are dedented, so they can be written inline in a test.
    """
    from evolve.evaluators.problem import load_problem

    def make(evaluator: str = TINY_EVALUATOR, seed: str = TINY_SEED, files: dict[str, str] | None = None,
             **spec: Any) -> Any:
        root = tmp_path_factory.mktemp("problem")
        (root / "seed.py").write_text(textwrap.dedent(seed))
        (root / "evaluate.py").write_text(textwrap.dedent(evaluator))
        for name, text in (files or {}).items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(textwrap.dedent(text))
        spec.setdefault("description", "A tiny problem for tests.\nIt doubles nothing.")
        (root / "problem.yaml").write_text(yaml.safe_dump(spec))
        return load_problem(root)

    return make


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A private local Ray for the whole session (never one another process started)."""
    import ray

    ray.init(address="local", num_cpus=4, include_dashboard=False, object_store_memory=100 * 1024 * 1024,
             logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the session (``new_database`` per test)."""
    from tests.support.pg_cluster import TemporaryPostgres, find_binaries

    if find_binaries() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = TemporaryPostgres(fsync=False).start()
    yield server
    server.stop()


@pytest.fixture
def write_program(tmp_path: Path) -> Callable[[str], Path]:
    """Write a candidate program (dedented) to a file and return its path."""
    def write(code: str, name: str = "candidate.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(code))
        return path

    return write

"""The few names a problem's evaluate.py may import from the framework.

What ``evaluate(candidate, split)`` returns: a dict with a finite ``score`` (higher is
better), other metrics (numbers), optional ``artifacts`` (name -> text the model reads)
and optional ``instances`` (instance or objective name -> finite score, higher is better,
as for ``score``): the per-instance scores behind the aggregate, kept on the program's row
and used to keep parents that are best on some instance (``archive.pareto_share``).
"""

from __future__ import annotations

import importlib.util
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np


class InvalidProgram(Exception):
    """Raised by an evaluator when a candidate's answer is wrong-shaped or infeasible.

    The candidate is stored with status "invalid" and this message in its artifacts, so
    the model learns why, and a reward hack scores nothing.
    """


class StageUnavailable(Exception):
    """Raised by an evaluator when a stage cannot run on this machine (no GPU, no driver).

    The candidate is stored with status "unavailable": neither its fault nor a score.
    """


class CandidateFailed(Exception):
    """The candidate raised, or its process died, during a call over the channel.

    The message is the candidate's own traceback (what a model needs to fix it); ``kind``
    is the exception's type name, "EFBIG" for a file over the size limit, or "exited".
    Left uncaught by the evaluator, the row is stored as "error" (or "killed" for a
    resource limit).
    """

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


def expect_array(value: Any, shape: tuple[int, ...] | None = None, what: str = "the result") -> np.ndarray:
    """A candidate's answer as a finite float64 array of ``shape``, or InvalidProgram saying why."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidProgram(f"{what} must be numbers, got {type(value).__name__}") from None
    if shape is not None and array.shape != tuple(shape):
        raise InvalidProgram(f"{what} must have shape {tuple(shape)}, got {array.shape}")
    if not np.isfinite(array).all():
        raise InvalidProgram(f"{what} holds NaN or infinite values")
    return array


@contextmanager
def wall_time_limit(seconds: float, error: InvalidProgram) -> Iterator[None]:
    """Raise ``error`` when the calls inside take longer than ``seconds`` (a problem's own budget).

    In the scorer's main thread the wait for the candidate is interrupted when the budget
    runs out; elsewhere the overrun is caught when the call returns. After an interrupted
    call the channel is out of step: let the error end the evaluation.
    """
    started = time.perf_counter()
    armed = threading.current_thread() is threading.main_thread()
    if armed:
        def expire(signum: int, frame: object) -> None:
            raise error

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.perf_counter() - started > seconds:
        raise error


def load_program(program_path: str | Path, module_name: str = "candidate") -> ModuleType:
    """Import a program into this process under ``module_name``.

    Two uses only: a ``scoring: in_process`` problem's candidate (its scores are then only
    as trustworthy as the candidate, which shares the scorer's memory), and a problem's
    own file that the scorer trusts, such as the seed a kernel's speed-up is measured
    against. A problem on the channel never passes a candidate's path here.
    """
    path = Path(program_path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InvalidProgram(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module

"""The few names a problem's evaluate.py may import from the framework."""

from __future__ import annotations

import importlib.util
import sys
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


def load_program(program_path: str | Path, module_name: str = "candidate") -> ModuleType:
    """Import a candidate program into this process (``scoring: in_process`` problems only).

    Such a problem's scores are only as trustworthy as the candidate: it shares the
    scorer's memory. Problems on the channel never call this.
    """
    path = Path(program_path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InvalidProgram(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module

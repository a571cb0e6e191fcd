"""The few names a problem's evaluate.py may import from the framework."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


class InvalidProgram(Exception):
    """Raised by an evaluator when a candidate's answer is wrong-shaped or infeasible.

    The candidate is stored with status "invalid" and this message in its artifacts, so
    the model learns why, and a reward hack scores nothing.
    """


def load_program(program_path: str | Path, module_name: str = "candidate") -> ModuleType:
    """Import a candidate program from its path as a fresh module."""
    path = Path(program_path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InvalidProgram(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class StageUnavailable(Exception):
    """Raised by an evaluator when a stage cannot run on this machine (no GPU, no driver).

    The candidate is stored with status "unavailable": neither its fault nor a score.
    """

"""Importing a problem's own files in a test, as its evaluator sees them in the sandbox."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PROBLEMS = Path(__file__).resolve().parents[2] / "problems"


def load_problem_file(problem: str, file: str = "evaluate.py", *, on_path: bool = True) -> ModuleType:
    """``problems/<problem>/<file>`` as the module ``<problem>_<stem>``.

    ``on_path`` puts the problem folder on sys.path, as the sandbox does, so the file's
    own imports (simulators, data loaders) resolve. cant_be_late and cant_be_late_multi
    each ship a ``sky_spot`` package and load it themselves; they pass ``on_path=False``
    so that neither shadows the other's.
    """
    root = PROBLEMS / problem
    if on_path and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    name = f"{problem}_{Path(file).stem}"
    spec = importlib.util.spec_from_file_location(name, root / file)
    assert spec is not None and spec.loader is not None, f"{root / file} is not a Python file"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

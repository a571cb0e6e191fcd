"""Why a problem's evaluator did not load, said about the user's own file.

The evaluation workers import the evaluator from the unpacked bundle on each node, so the
traceback Ray hands back names ``/tmp/evolve-problems/<hash>/...`` and runs to dozens of
lines. What the user needs is the exception and the line of their file that raised it.
"""

from __future__ import annotations

import re
from pathlib import Path

from evolve.errors import InputError

_EXCEPTION = re.compile(r"\b([A-Z]\w*(?:Error|Exception)): (.+?)(?=\s+File \"|\s*$|\s+\[\d+m)", re.DOTALL)
_FRAME = re.compile(r'File "[^"]*/evolve-problems/[0-9a-f]+/([^"]+)", line (\d+)')


class EvaluatorFailed(InputError):
    """The problem's evaluator cannot be imported where the candidates are evaluated."""


def explain(problem_root: Path, evaluator: Path, program: Path, text: str) -> EvaluatorFailed | None:
    """One line naming the user's file and the cause, or None when ``text`` shows neither."""
    causes = _EXCEPTION.findall(text)
    frames = _FRAME.findall(text)
    if not causes:
        return None
    kind, message = causes[-1]
    message = " ".join(message.split())
    where = f" at {problem_root / frames[-1][0]} line {frames[-1][1]}" if frames else ""
    hint = ("install it where the evaluation runs, or remove the import" if kind == "ModuleNotFoundError"
            else f"check it with: evolve eval {problem_root} {program}")
    return EvaluatorFailed(f"the evaluator {evaluator} does not load: {kind}: {message}{where}; {hint}")

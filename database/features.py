"""What the archive computes from a program's text: its identity and built-in features.

The identity ignores what cannot change behaviour in the usual edit (trailing
whitespace, blank lines, comment-only lines) so that an LLM re-sending the parent with a
reworded comment is caught as a duplicate before it costs an evaluation.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import math
from typing import Any

from evolve.database.errors import ArchiveError

BUILTIN_FEATURES = ("length", "complexity", "edit_distance")
COMMENT_PREFIXES = ("#", "//")


def normalise_code(code: str) -> str:
    kept = []
    for line in code.splitlines():
        stripped = line.rstrip()
        if not stripped or stripped.lstrip().startswith(COMMENT_PREFIXES):
            continue
        kept.append(stripped)
    return "\n".join(kept)


def code_hash(code: str) -> str:
    """sha256 (hex) of the normalised code."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def ast_complexity(code: str) -> int:
    """Number of AST nodes; code that is not Python counts its whitespace-separated tokens."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return len(code.split())
    count, stack = 0, [tree]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        count += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        push(item)
            elif isinstance(value, ast.AST):
                push(value)
    return count


def line_edit_distance(code: str, reference: str) -> int:
    """Lines inserted, deleted or replaced to turn ``reference`` into ``code``.

    Line granularity keeps this linear-ish in practice, where a character Levenshtein
    distance over whole programs would cost the driver milliseconds per candidate.
    """
    matcher = difflib.SequenceMatcher(None, reference.splitlines(), code.splitlines(), autojunk=False)
    changed = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            changed += max(i2 - i1, j2 - j1)
    return changed


def feature_values(
    names: list[str], code: str, metrics: dict[str, Any], seed_code: str | None
) -> dict[str, float]:
    """The raw value of every configured feature dimension for one program."""
    values: dict[str, float] = {}
    for name in names:
        if name == "length":
            value: Any = len(code)
        elif name == "complexity":
            value = ast_complexity(code)
        elif name == "edit_distance":
            value = line_edit_distance(code, seed_code) if seed_code is not None else 0
        elif name in metrics:
            value = metrics[name]
        else:
            raise ArchiveError(
                f"feature dimension {name!r} is neither a built-in feature "
                f"({', '.join(BUILTIN_FEATURES)}) nor a metric the evaluator returned "
                f"(metrics: {', '.join(sorted(metrics)) or 'none'}); fix the problem's features"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ArchiveError(f"feature {name!r} must be a finite number, got {value!r}")
        values[name] = float(value)
    return values

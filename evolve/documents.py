"""The YAML documents a user writes: problem.yaml, run configurations, OpenEvolve's config.yaml.

Each is read as one mapping, and what pydantic finds wrong in one is described the same
way wherever it was read: the key's place, and for an unknown key the keys valid there,
so a typo is fixed from the message alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


def _one_line(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(str(problem).split())


def read_mapping(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The document's top-level mapping (empty for an empty file); anything else raises
    ``error`` with one line that names the file and what is wrong at which line."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise error(f"{path} is not valid YAML: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise error(f"{path} must hold a mapping at the top level, not {type(data).__name__}")
    return data


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the mapping at ``loc`` (list indices skipped)."""
    current: type[BaseModel] = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = [annotation, *(getattr(annotation, "__args__", None) or ())]
        found = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if found is None:
            return None
        current = found
    return current


def describe_errors(error: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per thing wrong in a document validated as ``model``."""
    lines: list[str] = []
    for err in error.errors():
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            valid = ", ".join(owner.model_fields) if owner else "?"
            place = ".".join(str(p) for p in loc[:-1]) or "the top level"
            lines.append(f"unknown key '{loc[-1]}' at {place}; valid keys there: {valid}")
        else:
            where = ".".join(str(p) for p in loc) or "(top level)"
            lines.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
    return lines

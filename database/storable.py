"""Text every back end can store: the NUL character is replaced.

PostgreSQL refuses NUL in text and in JSONB strings, and a candidate's output, an
evaluator's artifact or a model's reply can contain one; a hostile candidate must become
a failed row, not a database error that stops the run. The archive writes each NUL as
U+FFFD (the replacement character) on every back end, so a run reads back the same
wherever it is stored.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, TypeVar

NUL = "\x00"
REPLACEMENT = "\ufffd"
Record = TypeVar("Record")


def storable(value: Any) -> Any:
    """``value`` with every NUL in its strings (dict keys included) replaced."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value


def storable_record(record: Record) -> Record:
    """A copy of a dataclass record whose text fields are storable (the record itself when
    nothing needed replacing, which is the usual case and costs one scan)."""
    changes = {}
    for each in fields(record):  # type: ignore[arg-type]
        value = getattr(record, each.name)
        cleaned = storable(value)
        if cleaned != value:
            changes[each.name] = cleaned
    return replace(record, **changes) if changes else record  # type: ignore[type-var]

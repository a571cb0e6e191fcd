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


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    return False


def storable(value: Any) -> Any:
    """``value`` with every NUL in its strings (dict keys included) replaced; ``value``
    itself when it has none, which is the usual case and costs one scan."""
    if not has_nul(value):
        return value
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return [storable(v) for v in value]


def storable_record(record: Record) -> Record:
    """A copy of a dataclass record whose text fields are storable (the record itself when
    none has a NUL)."""
    changes = {f.name: storable(getattr(record, f.name)) for f in fields(record)  # type: ignore[arg-type]
               if has_nul(getattr(record, f.name))}
    return replace(record, **changes) if changes else record  # type: ignore[type-var]

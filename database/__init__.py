"""The program database: every attempt with its lineage, and the MAP-Elites islands.

Knows nothing of LLMs or sandboxes.

The names below load their module on first use, so that ``evolve --help`` or a module that
only needs the defaults or the error types never pays for SQLAlchemy, Alembic or psycopg.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

DEFAULT_URL = "sqlite:///runs/evolve.db"
DEFAULT_WAIT_S = 180.0  # seconds a driver waits for a database that went away

_HOMES = {
    "RunArchive": "archive",
    "ArchiveError": "errors",
    "DatabaseError": "errors",
    "NoParentAvailable": "errors",
    "ProgramNotFound": "errors",
    "RunNotFound": "errors",
    "SchemaError": "errors",
    "LLMCallRecord": "records",
    "NewProgram": "records",
    "ProgramView": "records",
    "RunInfo": "records",
    "Sample": "records",
    "ArchiveSettings": "settings",
    "FeatureDimension": "settings",
    "ProgramDatabase": "store",
}

__all__ = [
    "DEFAULT_URL",
    "DEFAULT_WAIT_S",
    "ArchiveError",
    "ArchiveSettings",
    "DatabaseError",
    "FeatureDimension",
    "LLMCallRecord",
    "NewProgram",
    "NoParentAvailable",
    "ProgramDatabase",
    "ProgramNotFound",
    "ProgramView",
    "RunArchive",
    "RunInfo",
    "RunNotFound",
    "Sample",
    "SchemaError",
]

if TYPE_CHECKING:
    from evolve.database.archive import RunArchive
    from evolve.database.errors import (
        ArchiveError,
        DatabaseError,
        NoParentAvailable,
        ProgramNotFound,
        RunNotFound,
        SchemaError,
    )
    from evolve.database.records import LLMCallRecord, NewProgram, ProgramView, RunInfo, Sample
    from evolve.database.settings import ArchiveSettings, FeatureDimension
    from evolve.database.store import ProgramDatabase


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

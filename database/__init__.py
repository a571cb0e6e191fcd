"""The program database: every attempt with its lineage, and the MAP-Elites islands.

Knows nothing of LLMs or sandboxes.
"""

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
from evolve.database.store import DEFAULT_URL, ProgramDatabase

__all__ = [
    "DEFAULT_URL",
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

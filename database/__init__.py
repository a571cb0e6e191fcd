"""The program database: every attempt with its lineage, and the MAP-Elites islands.

Knows nothing of LLMs or sandboxes.
"""

from database.archive import RunArchive
from database.errors import (
    ArchiveError,
    DatabaseError,
    NoParentAvailable,
    ProgramNotFound,
    RunNotFound,
    SchemaError,
)
from database.records import LLMCallRecord, NewProgram, ProgramView, RunInfo, Sample
from database.settings import ArchiveSettings, FeatureDimension
from database.store import DEFAULT_URL, ProgramDatabase

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

"""Errors of the program database, each naming what to do about it."""

from __future__ import annotations


class DatabaseError(Exception):
    """Base class of everything the database package raises on purpose."""


class RunNotFound(DatabaseError, LookupError):
    """A run reference (id, name or ``latest``) matched no run."""


class ProgramNotFound(DatabaseError, LookupError):
    """A program id is not in the database (or not in the run asked about)."""


class SchemaError(DatabaseError):
    """The database's schema cannot be brought to the version this code needs."""


class ArchiveError(DatabaseError):
    """The archive cannot do what was asked with the programs it holds."""


class NoParentAvailable(ArchiveError):
    """``sample()`` found no successfully evaluated program to mutate."""

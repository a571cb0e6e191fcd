"""Errors of the program database, each naming what to do about it.

``exit_code`` tells the command line what kind of error it is: 2 when the input was wrong
(a run or program that is not there, a URL or file that cannot be a database, a run another
driver holds), 1 when the work itself failed.
"""

from __future__ import annotations


class DatabaseError(Exception):
    """Base class of everything the database package raises on purpose."""

    exit_code = 1


class RunNotFound(DatabaseError, LookupError):
    """A run reference (id, name or ``latest``) matched no run."""

    exit_code = 2


class ProgramNotFound(DatabaseError, LookupError):
    """A program id is not in the database (or not in the run asked about)."""

    exit_code = 2


class SchemaError(DatabaseError):
    """The database's schema cannot be brought to the version this code needs."""

    exit_code = 2


class DatabaseURLError(DatabaseError):
    """The ``--db`` value is not a database URL this installation can open."""

    exit_code = 2


class NoDatabase(DatabaseError):
    """A command that only reads was pointed at a database that does not exist."""

    exit_code = 2


class ReadOnlyDatabase(DatabaseError):
    """A writing command was pointed at a database it may not write."""

    exit_code = 2


class RunHeld(DatabaseError):
    """Another live driver holds the run's lease."""

    exit_code = 2


class DatabaseUnavailable(DatabaseError):
    """The database stayed unreachable for longer than the run waits for it."""


class ArchiveError(DatabaseError):
    """The archive cannot do what was asked with the programs it holds."""


class NoParentAvailable(ArchiveError):
    """``sample()`` found no successfully evaluated program to mutate."""

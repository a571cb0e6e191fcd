"""The base of evolve's errors and what each kind means to the command line.

Every error evolve raises on purpose says in one line what went wrong and what to do.
``exit_code`` is 2 when the input was wrong (usage, configuration, problem, database URL,
a run that is not there) and 1 when the work itself failed. The database and evaluator
packages cannot import evolve; their errors carry the same ``exit_code`` attribute or are
placed in the command line's table (``evolve.cli.EXIT_CODES``).
"""

from __future__ import annotations


class EvolveError(Exception):
    """Something went wrong during the work."""

    exit_code = 1


class InputError(EvolveError):
    """What the user gave cannot work; the message says which key, file or flag."""

    exit_code = 2

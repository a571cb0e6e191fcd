"""The EVOLVE-BLOCK markers: the one definition of how a program marks what may evolve.

A program marks each evolvable region with a line holding ``EVOLVE-BLOCK-START`` and one
holding ``EVOLVE-BLOCK-END``. Programs written for other frameworks spell them with a
space or an underscore (``# EVOLVE-BLOCK START``), so every spelling of that shape is read
as the same marker; evolve itself writes the hyphenated form. It lives in evaluators/,
the lowest layer, so that problem loading and the edit code read markers the same way.
"""

from __future__ import annotations

import re

START_MARKER = "EVOLVE-BLOCK-START"
END_MARKER = "EVOLVE-BLOCK-END"

_SEPARATOR = r"[-_ ]"
_START = re.compile(rf"EVOLVE{_SEPARATOR}BLOCK{_SEPARATOR}START")
_END = re.compile(rf"EVOLVE{_SEPARATOR}BLOCK{_SEPARATOR}END")


def is_start(line: str) -> bool:
    """Whether ``line`` opens a region, in any accepted spelling."""
    return _START.search(line) is not None


def is_end(line: str) -> bool:
    """Whether ``line`` closes a region, in any accepted spelling."""
    return _END.search(line) is not None


def is_marker(line: str) -> bool:
    return is_start(line) or is_end(line)


def has_markers(code: str) -> bool:
    """Whether ``code`` marks at least one region (an opening and a closing marker)."""
    return _START.search(code) is not None and _END.search(code) is not None

"""The repairs an edit may need before it applies: the name each is recorded under and
what it did, and the error of an edit that no repair makes unambiguous.

The names travel on the result, on the program's row and into the next prompt, so the
model learns which of its habits the framework had to correct.
"""

from __future__ import annotations

# The repairs an edit may need, by the name recorded on the result, and what each did.
CRLF = "crlf"
BLOCK_MARKS = "block_marks"
DIVIDER_CLOSE = "divider_closes_replace"
MARKER_LINES = "marker_lines"
TRAILING_WHITESPACE = "trailing_whitespace"
TABS = "tabs"
INDENTATION = "indentation"
FROZEN_WHITESPACE = "frozen_whitespace"
WHOLE_FILE = "whole_file_without_markers"
REPAIRS = {
    CRLF: "CRLF line endings were read as plain newlines",
    BLOCK_MARKS: "a SEARCH or REPLACE mark was spelt with the wrong number of < or > signs",
    DIVIDER_CLOSE: "a REPLACE section closed by '=======' instead of '>>>>>>> REPLACE'",
    MARKER_LINES: "SEARCH and REPLACE both carried the unchanged EVOLVE-BLOCK marker lines",
    TRAILING_WHITESPACE: "SEARCH lines differed from the program in trailing or whitespace-only lines",
    TABS: "SEARCH lines used tabs where the program uses spaces, or the reverse",
    INDENTATION: "SEARCH lines were shifted by one uniform indentation; REPLACE was shifted back",
    FROZEN_WHITESPACE: "the rewritten program's frozen lines differed from the parent's only in whitespace",
    WHOLE_FILE: "the whole program was re-emitted without its EVOLVE-BLOCK markers; its regions were cut out",
}

# The program row's artifact that lists, comma-separated, the repairs its edit needed:
# the row has no column of its own for them, and the next prompt tells the model.
REPAIRS_ARTIFACT = "edit_repairs"


class EditError(ValueError):
    """An edit could not be applied; the message is the reason given back to the model."""

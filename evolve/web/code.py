"""Code and errors as readable HTML: highlighted on the server (offline), lines numbered
and anchored, traceback frames linked to the lines they name, diffs of any two texts.

Everything here starts as hostile text: Pygments escapes every token it emits, and error
text is escaped before any link is added to it.
"""

from __future__ import annotations

import difflib
import re

from markupsafe import Markup, escape
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

FORMATTER = HtmlFormatter(linenos="table", lineanchors="L", anchorlinenos=True, cssclass="code", wrapcode=True)
# A traceback frame in a file that is not the library's: Python's own files and the
# installed packages are left unlinked.
FRAME = re.compile(r"(File &#34;(?P<path>[^&]*)&#34;, line )(?P<line>\d+)")
LIBRARY_PATHS = ("/lib/python", "site-packages", "<frozen", "evaluate.py")


def highlight(code: str) -> Markup:
    """Python code as a table of numbered lines; line N is the anchor ``#L-N``."""
    if not code:
        return Markup('<p class="muted">No code recorded.</p>')
    return Markup(pygments_highlight(code, PythonLexer(), FORMATTER))


def style_sheet() -> str:
    return FORMATTER.get_style_defs(".code")


def linked_error(error: str, code_lines: int) -> Markup:
    """The error text, escaped, with each frame in the program linked to its line."""

    def link(match: re.Match[str]) -> str:
        line = int(match.group("line"))
        if any(p in match.group("path") for p in LIBRARY_PATHS) or not 1 <= line <= code_lines:
            return match.group(0)
        return f'{match.group(1)}<a class="line-link" href="#L-{line}">{line}</a>'

    return Markup(FRAME.sub(link, str(escape(error))))


def unified_diff(before: str, after: str, before_name: str, after_name: str) -> str:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), before_name, after_name, lineterm="")
    return "\n".join(lines)

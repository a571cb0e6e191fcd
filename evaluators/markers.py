"""The EVOLVE-BLOCK markers: the one definition of how a program marks what may evolve.

A program marks each evolvable region with a line holding ``EVOLVE-BLOCK-START`` and one
holding ``EVOLVE-BLOCK-END``. Programs written for other frameworks spell them with a
space or an underscore (``# EVOLVE-BLOCK START``), so every spelling of that shape is read
as the same marker; evolve itself writes the hyphenated form. The marker may sit in any
comment syntax (``#``, ``//``, ``--``, ``/* ... */``): only the words are matched, so a C++
or Rust program marks its regions as a Python one does. It lives in evaluators/,
the lowest layer, so that problem loading and the edit code read markers the same way.
"""

from __future__ import annotations

import re

START_MARKER = "EVOLVE-BLOCK-START"
END_MARKER = "EVOLVE-BLOCK-END"

_SEPARATOR = r"[-_ ]"
_START = re.compile(rf"EVOLVE{_SEPARATOR}BLOCK{_SEPARATOR}START")
_END = re.compile(rf"EVOLVE{_SEPARATOR}BLOCK{_SEPARATOR}END")


# The line comment a language writes its markers with, where evolve adds them itself.
LINE_COMMENTS = {
    "python": "#", "r": "#", "shell": "#", "bash": "#", "ruby": "#", "perl": "#", "julia": "#", "yaml": "#",
    "cpp": "//", "c": "//", "cuda": "//", "rust": "//", "go": "//", "java": "//", "javascript": "//",
    "typescript": "//", "swift": "//", "kotlin": "//", "scala": "//", "csharp": "//", "verilog": "//",
    "zig": "//", "lua": "--", "sql": "--", "haskell": "--", "ada": "--", "vhdl": "--", "fortran": "!",
}
# The language a program file's suffix names: how an OpenEvolve example (whose config
# names language and file_suffix) is read, and the suffix a program is written out with
# when its problem can no longer be loaded.
SUFFIX_LANGUAGES = {
    ".py": "python", ".rs": "rust", ".r": "r", ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".hpp": "cpp",
    ".c": "c", ".h": "c", ".cu": "cuda", ".go": "go", ".java": "java", ".js": "javascript", ".ts": "typescript",
    ".jl": "julia", ".lua": "lua", ".sh": "shell", ".rb": "ruby", ".swift": "swift", ".kt": "kotlin",
    ".scala": "scala", ".cs": "csharp", ".v": "verilog", ".sv": "verilog", ".zig": "zig", ".f90": "fortran",
    ".hs": "haskell", ".sql": "sql", ".pl": "perl",
}
# Code fences name some languages differently from problem.yaml.
FENCE_NAMES = {"cuda": "cuda", "csharp": "csharp", "shell": "bash"}
_RUST = re.compile(r"^\s*(?:pub\s+)?fn\s+\w+|^\s*use\s+std::", re.MULTILINE)
_COMMENT_LANGUAGE = {"#": "python", "//": "cpp", "--": "lua", "/*": "c", "!": "fortran"}


def comment_of(language: str) -> str:
    """The line comment of ``language`` (``#`` for one this table does not know)."""
    return LINE_COMMENTS.get(language.lower(), "#")


def marker_comment(code: str) -> str | None:
    """The comment token in front of the first START marker of ``code`` (``//``, ``#``...)."""
    for line in code.split("\n"):
        match = _START.search(line)
        if match:
            token = line[: match.start()].strip()
            return token.rstrip() or None
    return None


def guess_language(code: str) -> str:
    """The language family a program's markers suggest, for callers not told its language:
    ``#`` markers are read as Python (the default), ``//`` as C-like, ``--`` as Lua-like."""
    token = marker_comment(code)
    if token is None:
        return "python"
    language = next((lang for prefix, lang in _COMMENT_LANGUAGE.items() if token.endswith(prefix)), "python")
    return "rust" if language == "cpp" and _RUST.search(code) else language


def fence_name(language: str) -> str:
    """The word a Markdown code fence names ``language`` with."""
    return FENCE_NAMES.get(language.lower(), language.lower())


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

"""Where the bundled problems and prompt templates are, in a checkout and in an installed wheel.

A checkout keeps them in the repository's top-level ``problems/`` and ``prompts/`` folders;
a wheel ships the same folders inside the package as ``evolve/bundled_problems`` and
``evolve/prompt_templates`` (pyproject.toml maps them). This module imports nothing so that
every layer may ask it.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(installed: str, checkout: str) -> Path:
    inside = _PACKAGE / installed
    return inside if inside.is_dir() else _PACKAGE.parent / checkout


BUNDLED_PROBLEMS: Path = _bundled("bundled_problems", "problems")
PROMPT_TEMPLATES: Path = _bundled("prompt_templates", "prompts")
# Installed as a package, the bundled folders are the package's, not the user's to write.
INSTALLED: bool = BUNDLED_PROBLEMS.parent == _PACKAGE
# The folder holding the evolve package: the checkout, or site-packages (or a --target folder).
PACKAGE_PARENT: Path = _PACKAGE.parent

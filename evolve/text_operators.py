"""Mutations on program text, for languages the offline mutator cannot parse (C++, Rust, R...).

Numeric constants and operators read the same in most languages, so they are mutated as
tokens: a constant is scaled, nudged or has its sign flipped, a comparison or arithmetic
operator is swapped for its neighbour, ``min`` for ``max``. Only operators written with
a space either side are touched: that tells ``a < b`` from ``vector<double>`` and ``a * b``
from a pointer. Comments and string literals
are left alone (they would change nothing, or break the build). The region's compile step
is the check of what comes out.
"""

from __future__ import annotations

import random
import re

# One alternation, so that a comment or a string is consumed before a number inside it is seen.
_TOKEN = re.compile(
    r"(?P<skip>//[^\n]*|#[^\n]*|--[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')"
    r"|(?P<number>(?<![\w.])\d+\.\d*(?:[eE][-+]?\d+)?|(?<![\w.])\.\d+(?:[eE][-+]?\d+)?|(?<![\w.])\d+(?![\w.]))"
    r"|(?P<op>(?<=\s)(?:<=|>=|[<>+*/-])(?=\s))"
    r"|(?P<name>\bmin\b|\bmax\b)",
    re.DOTALL,
)
_SWAPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "+": "-", "-": "+", "*": "/", "/": "*", "min": "max", "max": "min"}
MAX_TRIES = 8


def _new_number(text: str, rng: random.Random) -> str:
    if re.fullmatch(r"\d+", text):
        value = int(text)
        return str(max(0, value + rng.choice((-2, -1, 1, 2))) if value < 4 else round(value * rng.uniform(0.5, 1.5)))
    value = float(text)
    choice = rng.random()
    if choice < 0.15 and value:
        new = -value
    elif choice < 0.3:
        new = value + rng.choice((-1.0, 1.0)) * rng.choice((0.1, 0.5, 1.0))
    else:
        new = value * rng.uniform(0.5, 1.5)
    return f"{new:.6g}" if "." in f"{new:.6g}" or "e" in f"{new:.6g}" else f"{new:.6g}.0"


def _sites(body: str) -> list[re.Match[str]]:
    return [m for m in _TOKEN.finditer(body) if m.lastgroup != "skip"]


def _mutate_once(body: str, rng: random.Random) -> str | None:
    sites = _sites(body)
    if not sites:
        return None
    numbers = [m for m in sites if m.lastgroup == "number"]
    pool = numbers if numbers and rng.random() < 0.7 else sites
    site = rng.choice(pool)
    token = site.group()
    new = _new_number(token, rng) if site.lastgroup == "number" else _SWAPS[token]
    if new.startswith("-") and body[:site.start()].rstrip().endswith(("-", "+")):
        new = f"({new})"
    return body[:site.start()] + new + body[site.end():]


def mutate_text(body: str, rng: random.Random, operations: int = 1) -> str | None:
    """``body`` with ``operations`` token mutations applied; None when it has nothing to mutate."""
    changed = body
    for _ in range(operations):
        for _ in range(MAX_TRIES):
            candidate = _mutate_once(changed, rng)
            if candidate is None:
                return None
            if candidate != changed:
                changed = candidate
                break
    return changed if changed != body else None

"""Syntax-tree mutation operators used by the offline mutator.

Each operator takes a parsed region (an ``ast.Module``), the inspirations' parsed
regions and a ``random.Random``, changes the tree in place and returns a short
description, or ``None`` when it found nothing to change. Operators walk trees with
``ast.walk`` (a fixed order), so the same seed always gives the same child.
"""

from __future__ import annotations

import ast
import builtins
import copy
import math
import random
from collections.abc import Callable

Operator = Callable[[ast.Module, list[ast.Module], random.Random], "str | None"]

_OP_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div, ast.Add),
    ast.Div: (ast.Mult, ast.FloorDiv),
    ast.FloorDiv: (ast.Div,),
    ast.Pow: (ast.Mult,),
    ast.Lt: (ast.LtE, ast.Gt),
    ast.LtE: (ast.Lt, ast.GtE),
    ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt, ast.LtE),
}
_CALL_SWAPS = {"min": "max", "max": "min", "minimum": "maximum", "maximum": "minimum"}
_BUILTINS = frozenset(dir(builtins))


def _numeric_constants(tree: ast.AST) -> list[ast.Constant]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and type(node.value) in (int, float)
        and id(node) not in docstrings
    ]


def perturb_constant(tree: ast.Module, _inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Nudge one number: floats by a log-normal factor, ints by a small step."""
    constants = _numeric_constants(tree)
    if not constants:
        return None
    node = rng.choice(constants)
    old = node.value
    if isinstance(old, int):
        step = rng.choice((-2, -1, 1, 2))
        new: float = old * 2 if rng.random() < 0.15 else old + step
        if old >= 0 and new < 0:
            new = old + abs(step)
    else:
        base = old if old != 0 else rng.choice((0.1, -0.1))
        # Mostly local steps; sometimes a jump of up to 10x, so that a term added with a
        # negligible weight can reach the scale where it matters.
        factor = 10 ** rng.uniform(-1, 1) if rng.random() < 0.25 else math.exp(rng.gauss(0.0, 0.35))
        new = base * factor
        if rng.random() < 0.05:
            new = -new
        new = float(f"{new:.4g}")
    if new == old:
        return None
    node.value = new
    return f"constant {old!r} -> {new!r}"


def swap_operator(tree: ast.Module, _inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Replace an arithmetic or comparison operator (or min/max) by a related one."""
    sites: list[tuple[ast.AST, int | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and type(node.op) in _OP_SWAPS:
            sites.append((node, None))
        elif isinstance(node, ast.Compare):
            sites.extend((node, i) for i, op in enumerate(node.ops) if type(op) in _OP_SWAPS)
        elif isinstance(node, ast.Call) and _call_name(node) in _CALL_SWAPS:
            sites.append((node, None))
    if not sites:
        return None
    node, index = rng.choice(sites)
    if isinstance(node, ast.BinOp):
        old = type(node.op)
        node.op = rng.choice(_OP_SWAPS[old])()
        return f"operator {old.__name__} -> {type(node.op).__name__}"
    if isinstance(node, ast.Compare) and index is not None:
        old = type(node.ops[index])
        node.ops[index] = rng.choice(_OP_SWAPS[old])()
        return f"comparison {old.__name__} -> {type(node.ops[index]).__name__}"
    assert isinstance(node, ast.Call)
    name = _call_name(node)
    _set_call_name(node, _CALL_SWAPS[name])
    return f"call {name} -> {_CALL_SWAPS[name]}"


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _set_call_name(node: ast.Call, name: str) -> None:
    if isinstance(node.func, ast.Name):
        node.func.id = name
    elif isinstance(node.func, ast.Attribute):
        node.func.attr = name


def _value_expressions(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    """(parent, field) pairs holding an expression that computes a value we may change."""
    sites: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Return, ast.Assign, ast.AugAssign)) and node.value is not None:
            sites.append((node, "value"))
        elif isinstance(node, ast.BinOp):
            sites.extend([(node, "left"), (node, "right")])
    return sites


def _names_in(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs
    }


def _is_value(expr: ast.AST) -> bool:
    return isinstance(expr, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Subscript, ast.Attribute))


def grow_expression(tree: ast.Module, _inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Add a weighted term to a value: e + c*e**2, e + c*x, e + c*(x > t), e * c, e - c/(e + 1).

    These shapes let a linear score become one that prefers extremes or tails, which is
    how most hand-written scheduling and packing heuristics differ from their seeds.
    """
    sites = [(p, f) for p, f in _value_expressions(tree) if _is_value(getattr(p, f))]
    if not sites:
        return None
    # Whole returned or assigned values first: a term added there changes the ranking,
    # while one added deep inside often only rescales it.
    weights = [6.0 if isinstance(p, ast.Return) else 3.0 if isinstance(p, ast.Assign) else 1.0 for p, _ in sites]
    parent, field = rng.choices(sites, weights)[0]
    expr = getattr(parent, field)
    c = ast.Constant(float(f"{rng.choice((1, -1)) * 10 ** rng.uniform(-2.5, -0.5):.3g}"))
    names = sorted(n for n in _names_in(tree) if n not in _BUILTINS and n not in ("np", "math", "self"))
    shape = rng.choices(("square", "term", "step", "scale", "reciprocal"), (0.25, 0.2, 0.3, 0.05, 0.2))[0]
    if shape == "step" and names:
        # A threshold term: heuristics often behave differently above and below a cut.
        cut = ast.Constant(float(f"{10 ** rng.uniform(-1, 2.5):.3g}"))
        test = ast.Compare(ast.Name(rng.choice(names), ast.Load()), [rng.choice((ast.Gt(), ast.Lt()))], [cut])
        weight = ast.Constant(float(f"{rng.choice((1, -1)) * 10 ** rng.uniform(-1, 1):.3g}"))
        new = ast.BinOp(copy.deepcopy(expr), ast.Add(), ast.BinOp(weight, ast.Mult(), test))
    elif shape == "term" and names:
        other = ast.Name(rng.choice(names), ast.Load())
        new = ast.BinOp(copy.deepcopy(expr), ast.Add(), ast.BinOp(c, ast.Mult(), other))
    elif shape == "scale":
        new = ast.BinOp(copy.deepcopy(expr), ast.Mult(), c)
    elif shape == "reciprocal":
        denom = ast.BinOp(copy.deepcopy(expr), ast.Add(), ast.Constant(1.0))
        new = ast.BinOp(copy.deepcopy(expr), ast.Sub(), ast.BinOp(c, ast.Div(), denom))
    else:
        square = ast.BinOp(copy.deepcopy(expr), ast.Pow(), ast.Constant(2))
        new = ast.BinOp(copy.deepcopy(expr), ast.Add(), ast.BinOp(c, ast.Mult(), square))
    setattr(parent, field, new)
    return f"grew expression ({shape})"


def recombine_expression(tree: ast.Module, inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Put a value expression from an inspiration in place of one of ours.

    Only expressions whose names all exist in our region (or are builtins) are taken,
    so the child does not fail on an undefined name.
    """
    ours = _value_expressions(tree)
    if not ours or not inspirations:
        return None
    known = _names_in(tree) | _BUILTINS | {"np", "math"}
    donors = [
        getattr(p, f)
        for other in inspirations
        for p, f in _value_expressions(other)
        if _is_value(getattr(p, f)) and _names_in(getattr(p, f)) <= known
    ]
    if not donors:
        return None
    parent, field = rng.choice(ours)
    donor = rng.choice(donors)
    if ast.dump(donor) == ast.dump(getattr(parent, field)):
        return None
    setattr(parent, field, copy.deepcopy(donor))
    return "recombined an expression from an inspiration"


def _function_bodies(tree: ast.AST) -> list[list[ast.stmt]]:
    return [n.body for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def insert_statement(tree: ast.Module, inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Insert an assignment: one copied from an inspiration, or ``v = v * c`` on a local."""
    bodies = _function_bodies(tree)
    if not bodies:
        return None
    body = rng.choice(bodies)
    known = _names_in(tree) | _BUILTINS | {"np", "math"}
    donors = [
        s
        for other in inspirations
        for s in ast.walk(other)
        if isinstance(s, (ast.Assign, ast.AugAssign)) and _names_in(s.value) <= known
    ]
    locals_ = sorted(
        {t.id for s in body if isinstance(s, ast.Assign) for t in s.targets if isinstance(t, ast.Name)}
    )
    last = len(body) - 1 if isinstance(body[-1], ast.Return) else len(body)
    first = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0
    if donors and (not locals_ or rng.random() < 0.5):
        stmt: ast.stmt = copy.deepcopy(rng.choice(donors))
        what = "inserted a statement from an inspiration"
    elif locals_:
        name = rng.choice(locals_)
        first = max(first, _first_assignment(body, name) + 1)
        c = ast.Constant(float(f"{math.exp(rng.gauss(0, 0.3)):.3g}"))
        stmt = ast.Assign([ast.Name(name, ast.Store())], ast.BinOp(ast.Name(name, ast.Load()), ast.Mult(), c))
        what = f"inserted {name} = {name} * {c.value}"
    else:
        return None
    if first > last:
        return None
    body.insert(rng.randint(first, last), stmt)
    return what


def _first_assignment(body: list[ast.stmt], name: str) -> int:
    for i, s in enumerate(body):
        if isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in s.targets):
            return i
    return len(body)


def delete_statement(tree: ast.Module, _inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Remove one statement that is neither a return nor the only statement of its body."""
    sites = [
        (body, i)
        for body in _function_bodies(tree)
        if len(body) > 1
        for i, s in enumerate(body)
        if not isinstance(s, (ast.Return, ast.FunctionDef, ast.ClassDef))
        and not (i == 0 and isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    if not sites:
        return None
    body, i = rng.choice(sites)
    del body[i]
    return "deleted a statement"


def crossover_function(tree: ast.Module, inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Take the body of a same-named function from an inspiration."""
    ours = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    pairs = [
        (ours[n.name], n)
        for other in inspirations
        for n in ast.walk(other)
        if isinstance(n, ast.FunctionDef) and n.name in ours and ast.dump(n) != ast.dump(ours[n.name])
    ]
    if not pairs:
        return None
    mine, theirs = rng.choice(pairs)
    mine.body = copy.deepcopy(theirs.body)
    return f"took the body of {mine.name}() from an inspiration"


# (operator, weight): constants dominate because most improvements are tuning.
OPERATORS: tuple[tuple[Operator, float], ...] = (
    (perturb_constant, 0.36),
    (swap_operator, 0.10),
    (grow_expression, 0.22),
    (recombine_expression, 0.10),
    (insert_statement, 0.08),
    (delete_statement, 0.06),
    (crossover_function, 0.08),
)

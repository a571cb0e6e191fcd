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
DORMANT_SHARE = 0.5  # of grown terms, the share added with weight 0 (neutral until tuned)


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
    if old == 0:
        # A zero weight is a dormant term: wake it at any scale.
        new = float(f"{rng.choice((1, -1)) * 10 ** rng.uniform(-2, 2):.3g}")
    elif isinstance(old, int):
        step = rng.choice((-2, -1, 1, 2))
        new: float = old * 2 if rng.random() < 0.15 else old + step
        if old >= 0 and new < 0:
            new = old + abs(step)
    else:
        base = old
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


_INTEGER_CALLS = frozenset({"range", "len", "int", "enumerate", "zip", "list", "tuple", "set", "dict", "sorted",
                            "reversed", "append", "insert", "pop", "index", "get", "zeros", "ones", "empty", "full",
                            "arange", "reshape", "astype", "randint", "choice", "sample", "shuffle"})
_COLLECTIONS = (ast.List, ast.ListComp, ast.Tuple, ast.Dict, ast.DictComp, ast.Set, ast.SetComp, ast.GeneratorExp,
                ast.Constant, ast.JoinedStr)


def _integer_contexts(tree: ast.AST) -> set[int]:
    """Nodes whose value must stay an integer or a collection: indices, sizes, counts.

    Adding a float term there fails at run time, so the operators leave them alone.
    """
    held: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            held.update(id(n) for n in ast.walk(node.slice))
        elif isinstance(node, ast.Call) and _call_name(node) in _INTEGER_CALLS:
            held.update(id(n) for arg in node.args for n in ast.walk(arg))
    return held


def _value_expressions(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    """(parent, field) pairs holding a numeric-looking expression we may change."""
    held = _integer_contexts(tree)
    sites: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Return, ast.Assign, ast.AugAssign)) and node.value is not None:
            if not isinstance(node.value, _COLLECTIONS) and not (
                isinstance(node.value, ast.Call) and _call_name(node.value) in _INTEGER_CALLS
            ):
                sites.append((node, "value"))
        elif isinstance(node, ast.BinOp) and id(node) not in held:
            sites.extend([(node, "left"), (node, "right")])
    return [(p, f) for p, f in sites if id(getattr(p, f)) not in held]


def _names_in(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs
    }


def _scopes(tree: ast.AST) -> dict[int, set[str]]:
    """For every node inside a function, the names bound before its statement runs.

    Arguments, names assigned by earlier statements of the enclosing body, and module-level
    names; an expression copied into a place may only read these, or it fails on an
    unbound local.
    """
    module_names = {t.id for n in getattr(tree, "body", []) if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)}
    module_names |= {n.name for n in getattr(tree, "body", []) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    module_names |= {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                     for a in n.names}
    scopes: dict[int, set[str]] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        bound = module_names | {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}
        for stmt in fn.body:
            for node in ast.walk(stmt):
                scopes[id(node)] = set(bound)
            bound |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return scopes


def _variables(tree: ast.AST) -> list[str]:
    """Arguments and assigned names: the values a new term may read (never functions or modules)."""
    names = {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs}
    names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return sorted(names - {"self"})


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
    bound = _scopes(tree).get(id(expr), set())
    names = [n for n in _variables(tree) if n in bound]
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
    dormant = rng.random() < DORMANT_SHARE and isinstance(new.right, ast.BinOp) and isinstance(new.right.left, ast.Constant)
    if dormant:
        # Weight 0: the child scores as its parent, survives as a neutral variant, and a
        # later constant perturbation can wake the term up at the scale that helps.
        new.right.left = ast.Constant(0.0)
    setattr(parent, field, new)
    return f"grew expression ({shape}{', dormant' if dormant else ''})"


def recombine_expression(tree: ast.Module, inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Put a value expression from an inspiration in place of one of ours.

    Only expressions whose names are all bound at that place (or are builtins) are
    taken, so the child does not fail on an undefined name.
    """
    scopes = _scopes(tree)
    ours = [(p, f) for p, f in _value_expressions(tree) if id(getattr(p, f)) in scopes]
    if not ours or not inspirations:
        return None
    parent, field = rng.choice(ours)
    known = scopes[id(getattr(parent, field))] | _BUILTINS
    donors = [
        getattr(p, f)
        for other in inspirations
        for p, f in _value_expressions(other)
        if _is_value(getattr(p, f)) and _names_in(getattr(p, f)) <= known
    ]
    if not donors:
        return None
    donor = rng.choice(donors)
    if ast.dump(donor) == ast.dump(getattr(parent, field)):
        return None
    setattr(parent, field, copy.deepcopy(donor))
    return "recombined an expression from an inspiration"


def _stores(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _docstring_offset(body: list[ast.stmt]) -> int:
    return 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0


def _numeric_locals(statements: list[ast.stmt]) -> set[str]:
    """Names every assignment of which looks numeric (not a collection, size or index)."""
    numeric: set[str] = set()
    other: set[str] = set()
    for stmt in statements:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign):
                looks_numeric = not isinstance(node.value, _COLLECTIONS[:-2]) and not (
                    isinstance(node.value, ast.Call) and _call_name(node.value) in _INTEGER_CALLS)
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        (numeric if looks_numeric else other).add(target.id)
            elif isinstance(node, (ast.For, ast.comprehension)):
                other |= _stores(node.target)
    return numeric - other - {"self"}


def insert_statement(tree: ast.Module, inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Insert an assignment where everything it reads is bound: one copied from an
    inspiration, or ``v = v * c`` on a local assigned earlier."""
    functions = [f for f in _functions(tree) if f.body]
    if not functions:
        return None
    fn = rng.choice(functions)
    body = fn.body
    last = len(body) - 1 if isinstance(body[-1], ast.Return) else len(body)
    first = _docstring_offset(body)
    if first > last:
        return None
    position = rng.randint(first, last)
    scopes = _scopes(tree)
    bound = scopes.get(id(body[position]), set()) if position < len(body) else scopes.get(id(body[-1]), set()) | _stores(body[-1])
    donors = [
        stmt
        for other in inspirations
        for stmt in ast.walk(other)
        if isinstance(stmt, (ast.Assign, ast.AugAssign))
        and _names_in(stmt.value) <= bound | _BUILTINS
        and (not isinstance(stmt, ast.AugAssign) or _stores(stmt) <= bound)
    ]
    locals_ = sorted(_numeric_locals(body[:position]))
    if donors and (not locals_ or rng.random() < 0.5):
        stmt: ast.stmt = copy.deepcopy(rng.choice(donors))
        what = "inserted a statement from an inspiration"
    elif locals_:
        name = rng.choice(locals_)
        c = ast.Constant(float(f"{math.exp(rng.gauss(0, 0.3)):.3g}"))
        stmt = ast.Assign([ast.Name(name, ast.Store())], ast.BinOp(ast.Name(name, ast.Load()), ast.Mult(), c))
        what = f"inserted {name} = {name} * {c.value}"
    else:
        return None
    body.insert(position, stmt)
    return what


def delete_statement(tree: ast.Module, _inspirations: list[ast.Module], rng: random.Random) -> str | None:
    """Remove a statement that is not a return, not a docstring, and does not hold the
    first binding of a name (deleting that would leave later reads unbound)."""
    sites = []
    for fn in _functions(tree):
        if len(fn.body) < 2:
            continue
        seen: set[str] = {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}
        for i, stmt in enumerate(fn.body):
            stores = _stores(stmt)
            removable = not isinstance(stmt, (ast.Return, ast.FunctionDef, ast.ClassDef)) and i >= _docstring_offset(fn.body)
            if removable and stores <= seen:
                sites.append((fn.body, i))
            seen |= stores
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

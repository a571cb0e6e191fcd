"""Browsing commands: look at runs and programs from a terminal, or start the web UI.

Tables are rich tables on a terminal and tab-separated lines in a pipe, so ``evolve runs |
cut -f1`` works; ``--json`` gives the same data for programs.
"""

from __future__ import annotations

import csv
import difflib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import typer
from rich.console import Console
from rich.table import Table

from evolve.database import DEFAULT_URL
from evolve.errors import InputError
from evolve.statuses import Status
from evolve.web.views import as_plain

if TYPE_CHECKING:
    from evolve.web.reader import RunReader

DEFAULT_DB = DEFAULT_URL
SPARKS = "▁▂▃▄▅▆▇█"
TEXT_MIN_WIDTH = 7

DbOption = typer.Option(DEFAULT_DB, "--db", help="database URL (SQLite file or PostgreSQL)")
JsonOption = typer.Option(False, "--json", help="print machine-readable JSON instead of tables")


def _reader(url: str) -> RunReader:
    """Browsing only reads: a database that is not there is an error, never a new one."""
    from evolve.database import ProgramDatabase
    from evolve.web.reader import RunReader

    return RunReader(ProgramDatabase(url, create=False))


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def rich_table(title: str, headers: list[str], rows: list[list[str]], text_columns: Iterable[str] = ()) -> Table:
    """Columns of numbers never wrap or shrink; the named text columns fold instead, so a
    table stays whole on a narrow terminal."""
    folding = set(text_columns)
    table = Table(title=title, box=None, padding=(0, 1), pad_edge=False, header_style="bold underline")
    for h in headers:
        if h in folding:
            table.add_column(h, overflow="fold", min_width=TEXT_MIN_WIDTH)
        else:
            table.add_column(h, no_wrap=True, min_width=len(h))
    for r in rows:
        table.add_row(*r)
    return table


def _table(title: str, headers: list[str], rows: Iterable[list[Any]], text_columns: Iterable[str] = ()) -> None:
    """A rich table on a terminal; tab-separated lines (header first) in a pipe."""
    rows = [[str(c) for c in r] for r in rows]
    if not sys.stdout.isatty():
        for line in [headers, *rows]:
            sys.stdout.write("\t".join(line) + "\n")
        return
    Console().print(rich_table(title, headers, rows, text_columns))


def sparkline(values: list[float]) -> str:
    """The best score so far as one line of block characters, a glance at progress."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - lo) / span * len(SPARKS)))] for v in values)


def best_so_far(scores: Iterable[float | None], width: int = 60) -> list[float]:
    best: list[float] = []
    current: float | None = None
    for s in scores:
        if s is not None and (current is None or s > current):
            current = s
        if current is not None:
            best.append(current)
    step = max(1, len(best) // width)
    return best[::step]


# "train" is the best program's score and "test" that same program's test score.
RUNS_HEADERS = ["id", "name", "problem", "status", "cands", "train", "test", "dollars", "started"]


def started(timestamp: float | None) -> str:
    """Month, day and UTC time: a table of runs is read for which came when."""
    return time.strftime("%m-%d %H:%M", time.gmtime(timestamp)) if timestamp else "-"


def run_line(r: Any) -> list[str]:
    return [str(r.id), r.name, r.problem, r.state, str(r.candidates), _score(r.best_train), _score(r.best_test),
            f"{r.dollars:.4f}", started(r.started_at)]


def runs(db: str = DbOption, as_json: bool = JsonOption) -> None:
    """List runs, newest first.

    Example: evolve runs --db sqlite:///runs/evolve.db
    """
    rows = _reader(db).runs()
    if as_json:
        return _print_json([as_plain(r) for r in rows])
    _table("runs", RUNS_HEADERS, [run_line(r) for r in rows], text_columns=("name", "problem"))


def show(run: str = typer.Argument("latest", help="run id, name or 'latest'"), db: str = DbOption,
         as_json: bool = JsonOption) -> None:
    """Summarise a run: progress sparkline, per-island bests, top programs, models and dollars.

    Example: evolve show latest
    """
    from evolve.database.memory import latest_memory

    reader = _reader(db)
    s = reader.summary(reader.run(run).id)
    note = latest_memory(reader.db.engine, s.run.id)
    if as_json:
        data = as_plain(s)
        data.pop("attempts")
        data["memory"] = {"candidates": note.candidates, "text": note.text} if note else None
        return _print_json(data)
    typer.echo(f"run {s.run.id} {s.run.name} ({s.run.problem}): {s.run.state}, {s.run.candidates} candidates, "
               f"best train {_score(s.run.best_train)} (program {s.run.best_id}), its test {_score(s.run.best_test)}, "
               f"${s.run.dollars:.4f}")
    if s.run.state == "stalled":
        typer.echo(f"its driver has stopped; resume it with: evolve resume {s.run.name}")
    typer.echo("best so far: " + sparkline(best_so_far(a.score if a.status == Status.OK else None for a in s.attempts)))
    typer.echo("attempts by status: " + ", ".join(f"{k} {v}" for k, v in sorted(s.counts.items())))
    _table("islands", ["island", "candidates", "failed", "elites", "best score", "best program"],
           [[i.island, i.candidates, i.failed, i.elites, _score(i.best_score), _island_best(i)] for i in s.islands])
    _table("top programs", ["id", "score", "island", "generation", "origin", "model"],
           [[p.id, _score(p.score), p.island, p.generation, p.origin, p.model or "-"] for p in s.top])
    if s.models:
        _table("models", ["model", "calls", "errors", "tokens in", "tokens out", "dollars"],
               [[m.model, m.calls, m.errors, m.tokens_in, m.tokens_out, f"{m.dollars:.4f}"] for m in s.models])
    if note is not None:
        typer.echo(f"run memory (written at {note.candidates} candidates):\n{note.text}")


def _island_best(island: Any) -> str:
    if island.best_id is None:
        return "-"
    if island.best_migrant_of is not None:
        return f"{island.best_id} (migrant of {island.best_migrant_of})"
    return str(island.best_id)


OutputOption = typer.Option(None, "-o", "--output",
                            help="write the code to this file (kept as named), or into this folder named for its language")


def _program_file(problem_ref: str, code: str) -> tuple[str, str]:
    """The language and file suffix of a run's programs: its problem's program file, else read off the code."""
    from evolve.evaluators.markers import SUFFIX_LANGUAGES, guess_language
    from evolve.evaluators.problem import ProblemError, load_problem

    try:
        problem = load_problem(problem_ref)
        return problem.language, problem.program_path.suffix
    except ProblemError:
        language = guess_language(code)
        suffixes = {language: suffix for suffix, language in reversed(SUFFIX_LANGUAGES.items())}
        return language, suffixes.get(language, ".txt")


def _write_code(code: str, output: Path, stem: str, problem_ref: str) -> Path:
    """A folder gets ``stem`` plus the language's suffix; a file name given is kept, with a note when
    its suffix is not the language's, so an editor or compiler is not misled unawares."""
    language, suffix = _program_file(problem_ref, code)
    if output.is_dir():
        output = output / f"{stem}{suffix}"
    elif output.suffix.lower() != suffix.lower():
        typer.echo(f"note: {output} is written as named, but the program is {language} (its files end in {suffix})",
                   err=True)
    output.write_text(code)
    return output


def program(program_id: int = typer.Argument(..., help="program id"), db: str = DbOption,
            as_json: bool = JsonOption, output: Path = OutputOption) -> None:
    """Show one program: code, metrics, artifacts and how it was made.

    Example: evolve program 42   (or: evolve program 42 -o out/ to write out/program_42.<its suffix>)
    """
    reader = _reader(db)
    p = reader.program(program_id)
    if as_json:
        return _print_json(as_plain(p))
    if output is not None:
        written = _write_code(p.code, output, f"program_{program_id}", reader.run(str(p.run_id)).problem)
        typer.echo(f"program {program_id} (score {_score(p.row.score)}) written to {written}", err=True)
        return None
    r = p.row
    typer.echo(f"program {r.id} of run {p.run_id}: {r.status}, score {_score(r.score)}, made by {r.origin}"
               f"{' with ' + r.model if r.model else ''} from parent {r.parent_id}, island {r.island}, "
               f"generation {r.generation}")
    if r.error:
        typer.echo(f"error: {r.error}")
    if sys.stdout.isatty():
        from rich.syntax import Syntax

        language, _ = _program_file(reader.run(str(p.run_id)).problem, p.code)
        Console().print(Syntax(p.code, language, line_numbers=True, word_wrap=True))
    else:
        typer.echo(p.code)
    _table("metrics", ["metric", "value"], [[k, v] for k, v in p.metrics.items()])
    if p.instances:
        _table("per-instance scores (higher is better)", ["instance", "score"], [[k, v] for k, v in p.instances.items()])
    for name, text in p.artifacts.items():
        typer.echo(f"--- artifact {name} ---\n{text}")
    for call in p.llm_calls:
        typer.echo(f"model call: {call.kind} with {call.model}, {call.tokens_in}+{call.tokens_out} tokens, "
                   f"${call.cost_usd:.4f}")


def lineage(program_id: int = typer.Argument(..., help="program id"), db: str = DbOption,
            as_json: bool = JsonOption) -> None:
    """The path from the seed to a program, with the score change and diff of each step.

    Example: evolve lineage 42
    """
    steps = _reader(db).lineage(program_id)
    if as_json:
        return _print_json([as_plain(s) for s in steps])
    for s in steps:
        delta = "" if s.delta is None else f" ({s.delta:+.6g})"
        typer.echo(f"== program {s.row.id}: {s.row.origin}, score {_score(s.row.score)}{delta}")
        if s.diff and s.row.parent_id is not None:
            typer.echo(s.diff)


def diff(a: int = typer.Argument(..., help="first program id"), b: int = typer.Argument(..., help="second program id"),
         db: str = DbOption, as_json: bool = JsonOption) -> None:
    """Unified diff between the code of two programs.

    Example: evolve diff 12 42
    """
    reader = _reader(db)
    left, right = reader.program(a), reader.program(b)
    text = "".join(difflib.unified_diff(left.code.splitlines(keepends=True), right.code.splitlines(keepends=True),
                                        f"program {a}", f"program {b}"))
    if as_json:
        return _print_json({"from": {"id": a, "score": left.row.score}, "to": {"id": b, "score": right.row.score},
                            "diff": text})
    sys.stdout.write(text)


def best(run: str = typer.Argument("latest", help="run id, name or 'latest'"), db: str = DbOption,
         output: Path = OutputOption) -> None:
    """The code of a run's best program: printed, written to the file named, or into a folder as best.<suffix>.

    Example: evolve best latest -o best.py   (or: evolve best latest -o out/)
    """
    reader = _reader(db)
    row = reader.run(run)
    if row.best_id is None:
        raise InputError(f"run {run!r} has no successfully evaluated program yet; see its attempts with: evolve show {run}")
    code = reader.program(row.best_id).code
    if output is None:
        sys.stdout.write(code)
    else:
        written = _write_code(code, output, "best", row.problem)
        typer.echo(f"program {row.best_id} (score {_score(row.best_train)}) written to {written}", err=True)


def export(run: str = typer.Argument("latest", help="run id, name or 'latest'"), db: str = DbOption,
           fmt: str = typer.Option("json", "--format", help="json or csv"),
           output: Path = typer.Option(None, "-o", "--output", help="file to write (default: standard output)")) -> None:
    """Every attempt of a run, failed ones included, as JSON or CSV.

    Example: evolve export latest --format csv -o attempts.csv
    """
    if fmt not in ("json", "csv"):
        raise InputError(f"unknown format {fmt!r}; use json or csv")
    reader = _reader(db)
    rows = list(reader.export(reader.run(run).id))
    out = output.open("w", newline="") if output else sys.stdout
    if fmt == "json":
        json.dump(rows, out, indent=1, default=str)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()})
    if output:
        out.close()


def ui(db: str = DbOption, host: str = typer.Option("127.0.0.1", help="address to bind; keep local unless needed"),
       port: int = typer.Option(8765, "--port", help="port to listen on")) -> None:
    """Serve the read-only web UI.

    Example: evolve ui --db sqlite:///runs/evolve.db --port 8765
    """
    import uvicorn

    from evolve.web.app import create_app

    app = create_app(_reader(db))
    typer.echo(f"evolve UI at http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add the browsing commands to the main ``evolve`` command."""
    for command in (runs, show, program, lineage, diff, best, export, ui):
        app.command(command.__name__)(command)

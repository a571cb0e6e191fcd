"""The read-only web UI: runs, a run's dashboard, program table and population tree,
programs with their lineage, diffs, and runs compared.

Every page is rendered by Jinja2 with autoescaping on, so code, artifacts, prompts and
model answers appear as text however much HTML they contain. Only GET routes exist:
the UI never writes to the database. A page of a run in progress polls its JSON and
redraws in place; a finished one does not.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from evolve.database import queries
from evolve.database.errors import ProgramNotFound, RunNotFound
from evolve.database.memory import latest_memory
from evolve.web.code import highlight, linked_error, unified_diff
from evolve.web.compare import compare_data
from evolve.web.dashboard import chart_data, failure_causes, resume_command
from evolve.web.reader import RunReader
from evolve.web.table import PAGE_SIZE, BadTableQuery, parse_table_query
from evolve.web.tree import tree_data

HERE = Path(__file__).parent

# Seconds between polls of a page that shows a run still in progress.
REFRESH_S = 5


def format_when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return ""


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_when
    env.filters["score"] = _score
    env.filters["diff_class"] = _diff_class
    env.filters["headline"] = queries.error_headline
    env.filters["resume"] = resume_command
    return env


def _run_ids(text: str) -> list[int]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not all(part.isdigit() for part in ids):
        raise BadTableQuery(f"runs must be ids separated by commas, got {text!r}")
    return [int(part) for part in ids]


def create_app(reader: RunReader) -> FastAPI:
    """The UI over one database; ``reader`` decides which (SQLite or PostgreSQL)."""
    app = FastAPI(title="evolve", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    env = templates()

    def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(refresh_s=REFRESH_S, **context)
        return HTMLResponse(html, status_code=status_code)

    async def not_found(request: Request, exc: Exception) -> HTMLResponse:
        return page("missing.html", status_code=404, message=str(exc))

    async def bad_query(request: Request, exc: Exception) -> HTMLResponse:
        return page("missing.html", status_code=400, message=str(exc))

    app.add_exception_handler(RunNotFound, not_found)
    app.add_exception_handler(ProgramNotFound, not_found)
    app.add_exception_handler(BadTableQuery, bad_query)

    @app.get("/", response_class=HTMLResponse)
    def runs() -> HTMLResponse:
        return page("runs.html", runs=reader.runs())

    @app.get("/run/{ref}", response_class=HTMLResponse)
    def run(ref: str) -> HTMLResponse:
        summary = reader.summary(reader.run(ref).id)
        return page("run.html", s=summary, data=chart_data(summary), run=summary.run,
                    statuses=failure_causes(summary), memory=latest_memory(reader.db.engine, summary.run.id))

    @app.get("/run/{ref}/data.json")
    def run_data(ref: str) -> JSONResponse:
        return JSONResponse(chart_data(reader.summary(reader.run(ref).id)))

    @app.get("/run/{ref}/programs", response_class=HTMLResponse)
    def program_table(ref: str, request: Request) -> HTMLResponse:
        run_row = reader.run(ref)
        query = parse_table_query(request.query_params)
        rows, total = queries.program_table(reader.db, run_row.id, query.filter, query.sort, query.descending,
                                            (query.page - 1) * PAGE_SIZE, PAGE_SIZE)
        return page("programs.html", run=run_row, rows=rows, total=total, q=query, page_size=PAGE_SIZE,
                    choices=queries.table_choices(reader.db, run_row.id))

    @app.get("/run/{ref}/tree", response_class=HTMLResponse)
    def tree(ref: str) -> HTMLResponse:
        run_row = reader.run(ref)
        return page("tree.html", run=run_row, data=tree_data(reader.db, run_row.id, run_row.best_id))

    @app.get("/compare", response_class=HTMLResponse)
    def compare(runs: str = "") -> HTMLResponse:
        chosen = _run_ids(runs) if runs else [r.id for r in reader.runs()[:4]]
        return page("compare.html", all_runs=reader.runs(), chosen=chosen, data=compare_data(reader, chosen))

    _program_routes(app, reader, page)
    return app


def _program_routes(app: FastAPI, reader: RunReader, page: Any) -> None:
    """Pages of one program: itself, its lineage, and its diff from any other."""

    @app.get("/program/{program_id}", response_class=HTMLResponse)
    def program(program_id: int) -> HTMLResponse:
        detail = reader.program(program_id)
        lines = len(detail.code.splitlines())
        return page("program.html", p=detail, run=reader.run(str(detail.run_id)), code=highlight(detail.code),
                    error=linked_error(detail.row.error, lines) if detail.row.error else None)

    @app.get("/program/{program_id}/lineage", response_class=HTMLResponse)
    def lineage(program_id: int) -> HTMLResponse:
        detail = reader.program(program_id)
        return page("lineage.html", p=detail, steps=reader.lineage(program_id), children=detail.children,
                    run=reader.run(str(detail.run_id)))

    @app.get("/diff/{a}/{b}", response_class=HTMLResponse)
    def diff(a: int, b: int) -> HTMLResponse:
        left, right = reader.program(a), reader.program(b)
        return page("diff.html", a=left, b=right, run=reader.run(str(right.run_id)),
                    diff=unified_diff(left.code, right.code, f"program {a}", f"program {b}"))

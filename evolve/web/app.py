"""The read-only web UI: runs, a run's dashboard, programs and their lineage.

Every page is rendered by Jinja2 with autoescaping on, so code, artifacts, prompts and
model answers appear as text however much HTML they contain. Only GET routes exist:
the UI never writes to the database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from evolve.web.dashboard import chart_data
from database.errors import ProgramNotFound, RunNotFound
from evolve.web.reader import RunReader

HERE = Path(__file__).parent

# Seconds between reloads of a page that shows a run still in progress.
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
    return env


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

    app.add_exception_handler(RunNotFound, not_found)
    app.add_exception_handler(ProgramNotFound, not_found)

    @app.get("/", response_class=HTMLResponse)
    def runs() -> HTMLResponse:
        rows = reader.runs()
        return page("runs.html", runs=rows, running=any(r.status == "running" for r in rows))

    @app.get("/run/{ref}", response_class=HTMLResponse)
    def run(ref: str) -> HTMLResponse:
        summary = reader.summary(reader.run(ref).id)
        return page("run.html", s=summary, data=chart_data(summary), running=summary.running)

    @app.get("/run/{ref}/data.json")
    def run_data(ref: str) -> JSONResponse:
        return JSONResponse(chart_data(reader.summary(reader.run(ref).id)))

    @app.get("/program/{program_id}", response_class=HTMLResponse)
    def program(program_id: int) -> HTMLResponse:
        detail = reader.program(program_id)
        run_row = reader.run(str(detail.run_id))
        return page("program.html", p=detail, run=run_row, running=run_row.status == "running")

    @app.get("/program/{program_id}/lineage", response_class=HTMLResponse)
    def lineage(program_id: int) -> HTMLResponse:
        detail = reader.program(program_id)
        steps = reader.lineage(program_id)
        children = [reader.program(c).row for c in detail.children]
        return page("lineage.html", p=detail, steps=steps, children=children, run=reader.run(str(detail.run_id)))

    return app

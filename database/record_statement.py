"""Recording a program in one statement, for PostgreSQL.

Over a network every statement is a round trip, and a transaction adds two more (BEGIN
and COMMIT). Here the program row, its evaluation stages and the links to the model calls
that wrote it go in as one INSERT with data-modifying common table expressions, which
PostgreSQL runs as one atomic statement in autocommit mode: one round trip per candidate
instead of four or five. It runs on the psycopg connection itself, as a server-side
prepared statement: SQLAlchemy's per-statement bookkeeping would cost about as much as
PostgreSQL's work. SQLite has no data-modifying CTEs and no network; it keeps the plain
transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Connection

from evolve.database.models import EvaluationStage, LLMCall, Program

PROGRAMS = Program.__table__
STAGE_ARRAYS = {"position": "integer[]", "stage": "varchar[]", "status": "varchar[]",
                "wall_s": "double precision[]", "cpu_s": "double precision[]", "error": "text[]"}
# What a new row is written with; test results come later, the id from the sequence.
ROW_COLUMNS = [c.name for c in PROGRAMS.columns if c.name not in ("id", "test_score", "test_metrics")]
JSON_COLUMNS = frozenset(c.name for c in PROGRAMS.columns if isinstance(c.type, JSON))


def _build() -> str:
    programs, stages, calls = PROGRAMS.name, EvaluationStage.__tablename__, LLMCall.__tablename__
    fields = list(STAGE_ARRAYS)
    unnested = ", ".join(f"%(stage_{f})s::{STAGE_ARRAYS[f]}" for f in fields)
    return f"""
        WITH new_program AS (
            INSERT INTO {programs} ({", ".join(ROW_COLUMNS)})
            VALUES ({", ".join(f"%({c})s" for c in ROW_COLUMNS)})
            RETURNING id
        ), new_stages AS (
            INSERT INTO {stages} (program_id, {", ".join(fields)})
            SELECT new_program.id, {", ".join("s." + f for f in fields)}
            FROM new_program, unnest({unnested}) AS s({", ".join(fields)})
        ), linked_calls AS (
            UPDATE {calls} SET program_id = new_program.id FROM new_program
            WHERE {calls}.id = ANY(%(call_ids)s::integer[])
        )
        SELECT id FROM new_program
    """


RECORD_PROGRAM = _build()


def record_parameters(row: dict[str, Any], stages: list[dict[str, Any]], call_ids: list[int]) -> dict[str, Any]:
    """``RECORD_PROGRAM``'s parameters: the row, then the stage rows as one array per column."""
    from psycopg.types.json import Jsonb  # only a PostgreSQL write needs psycopg

    parameters = {c: (Jsonb(row[c]) if c in JSON_COLUMNS and row[c] is not None else row[c]) for c in ROW_COLUMNS}
    for field in STAGE_ARRAYS:
        parameters[f"stage_{field}"] = [stage[field] for stage in stages]
    parameters["call_ids"] = list(call_ids)
    return parameters


def record_program(conn: Connection, row: dict[str, Any], stages: list[dict[str, Any]], call_ids: list[int]) -> int:
    """Write the program with its stages and call links; its new id. ``conn`` must be in
    autocommit mode, which makes the statement its own transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None and driver.autocommit, "record_program needs an autocommit PostgreSQL connection"
    cursor = driver.execute(RECORD_PROGRAM, record_parameters(row, stages, call_ids), prepare=True)
    return int(cursor.fetchone()[0])

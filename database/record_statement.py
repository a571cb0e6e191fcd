"""Recording a program in one statement, for PostgreSQL.

Over a network every statement is a round trip, and a transaction adds two more (BEGIN
and COMMIT). Here the program row, its evaluation stages and the links to the model calls
that wrote it go in as one INSERT with data-modifying common table expressions, which
PostgreSQL runs as one atomic statement in autocommit mode: one round trip per candidate
instead of four or five. SQLite has no data-modifying CTEs and no network; it keeps the
plain transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, bindparam, text

from database.models import EvaluationStage, LLMCall, Program

PROGRAMS = Program.__table__
STAGE_FIELDS = ("position", "stage", "status", "wall_s", "cpu_s", "error")
STAGE_ARRAYS = {"position": "integer[]", "stage": "varchar[]", "status": "varchar[]",
                "wall_s": "double precision[]", "cpu_s": "double precision[]", "error": "text[]"}
# What a new row is written with; test results come later, the id from the sequence.
ROW_COLUMNS = [c for c in PROGRAMS.columns if c.name not in ("id", "test_score", "test_metrics")]


def _build() -> TextClause:
    programs, stages, calls = PROGRAMS.name, EvaluationStage.__tablename__, LLMCall.__tablename__
    unnested = ", ".join(f"CAST(:stage_{f} AS {STAGE_ARRAYS[f]})" for f in STAGE_FIELDS)
    sql = f"""
        WITH new_program AS (
            INSERT INTO {programs} ({", ".join(c.name for c in ROW_COLUMNS)})
            VALUES ({", ".join(":" + c.name for c in ROW_COLUMNS)})
            RETURNING id
        ), new_stages AS (
            INSERT INTO {stages} (program_id, {", ".join(STAGE_FIELDS)})
            SELECT new_program.id, {", ".join("s." + f for f in STAGE_FIELDS)}
            FROM new_program, unnest({unnested}) AS s({", ".join(STAGE_FIELDS)})
        ), linked_calls AS (
            UPDATE {calls} SET program_id = new_program.id FROM new_program
            WHERE {calls}.id = ANY(CAST(:call_ids AS integer[]))
        )
        SELECT id FROM new_program
    """
    # Typed binds: the JSON columns are serialised as the table's own inserts would be.
    return text(sql).bindparams(*(bindparam(c.name, type_=c.type) for c in ROW_COLUMNS))


RECORD_PROGRAM = _build()


def record_parameters(row: dict[str, Any], stages: list[dict[str, Any]], call_ids: list[int]) -> dict[str, Any]:
    """``RECORD_PROGRAM``'s parameters: the row, then the stage rows as one array per column."""
    parameters = {c.name: row[c.name] for c in ROW_COLUMNS}
    for field in STAGE_FIELDS:
        parameters[f"stage_{field}"] = [stage[field] for stage in stages]
    parameters["call_ids"] = list(call_ids)
    return parameters

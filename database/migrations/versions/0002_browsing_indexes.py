"""Indexes for duplicate detection, lineage walks and the browsers' queries.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_programs_run_hash": ("programs", ["run_id", "code_hash"]),
    "ix_programs_parent": ("programs", ["parent_id"]),
    "ix_programs_run_score": ("programs", ["run_id", "score"]),
    "ix_llm_calls_run": ("llm_calls", ["run_id"]),
    "ix_llm_calls_program": ("llm_calls", ["program_id"]),
    "ix_stages_program": ("evaluation_stages", ["program_id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)

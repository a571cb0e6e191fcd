"""The run's memory: notes a model writes every so many candidates about what the search
has learnt, kept as a history (the latest is what later prompts are given).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_memories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("candidates", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("call_id", sa.Integer, sa.ForeignKey("llm_calls.id"), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_run_memories_run", "run_memories", ["run_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_run_memories_run", "run_memories")
    op.drop_table("run_memories")

"""A write key on program and model-call rows, so a write retried after a lost connection
finds the row it may already have made instead of making a second one.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("programs", "llm_calls"):
        op.add_column(table, sa.Column("write_key", sa.String(32), nullable=True))
        op.create_index(f"ux_{table}_write_key", table, ["write_key"], unique=True)


def downgrade() -> None:
    for table in ("programs", "llm_calls"):
        op.drop_index(f"ux_{table}_write_key", table)
        op.drop_column(table, "write_key")

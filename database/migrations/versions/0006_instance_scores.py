"""Per-instance scores on program rows: what the evaluator scored each instance (or
objective) of the split, higher better, for parents that are best on some instance.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    op.add_column("programs", sa.Column("instances", json, nullable=True))


def downgrade() -> None:
    op.drop_column("programs", "instances")

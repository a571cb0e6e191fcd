"""A lease row per driven run, and model calls journaled before their request goes out
(state, every attempt's outcome, the cost reserved for it, a usage anomaly).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "run_leases",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("token", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("stop_requested_by", sa.String(300), nullable=True),
        sa.Column("ray_session", sa.Text, nullable=True),
    )
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("state", sa.String(20), nullable=True))
        batch.add_column(sa.Column("attempts", NULLABLE_JSON, nullable=True))
        batch.add_column(sa.Column("max_cost_usd", sa.Float, nullable=True))
        batch.add_column(sa.Column("anomaly", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        for column in ("anomaly", "max_cost_usd", "attempts", "state"):
            batch.drop_column(column)
    op.drop_table("run_leases")

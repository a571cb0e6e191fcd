"""Each program row carries the run's sample count, so recording a candidate is one
INSERT instead of an INSERT plus an UPDATE of archive_state.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LATEST_ROWS = "SELECT MAX(id) FROM programs GROUP BY run_id"


def upgrade() -> None:
    op.add_column("programs", sa.Column("sample_count", sa.Integer, nullable=True))
    op.execute(
        "UPDATE programs SET sample_count = (SELECT s.sample_count FROM archive_state s "
        f"WHERE s.run_id = programs.run_id) WHERE id IN ({LATEST_ROWS})"
    )
    with op.batch_alter_table("archive_state") as batch:
        batch.drop_column("sample_count")
        batch.drop_column("migrations")


def downgrade() -> None:
    with op.batch_alter_table("archive_state") as batch:
        batch.add_column(sa.Column("sample_count", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("migrations", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE archive_state SET sample_count = COALESCE((SELECT p.sample_count FROM programs p "
        f"WHERE p.run_id = archive_state.run_id AND p.id IN ({LATEST_ROWS})), 0)"
    )
    op.drop_column("programs", "sample_count")

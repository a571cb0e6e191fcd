"""Alembic environment: always handed an open connection by database.schema."""

from alembic import context

from evolve.database.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

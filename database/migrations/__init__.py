"""Alembic migrations of the program database schema, applied when a database opens."""

"""Alembic migrations; `kiemdiem init` runs them (`workflow.schema.upgrade`)."""

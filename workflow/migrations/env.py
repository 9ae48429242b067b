"""Alembic environment: runs on the connection `workflow.schema.upgrade` hands it."""

from __future__ import annotations

from alembic import context

from workflow.models import Base
from workflow.sqlrender import Dialect

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=Dialect.of(connection).alters_by_copying,
)
with context.begin_transaction():
    context.run_migrations()

"""Audit log: `reached_at` as a real column, and an index of the reopen entries.

The monitor's progress chart counts, per stage and local day, the advances of a campaign:
reading `details->>'reached_at'` out of a `json` column and casting it meant parsing every
advance's JSON on each view of the national overview. Existing `cycle.advance` entries are backfilled from
their details (or their time when the details have none); the append-only trigger refusing
UPDATE is lifted for the backfill only, inside this migration's transaction.

Revision ID: 0002_audit_reached_at
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.sqlrender import Dialect

revision = "0002_audit_reached_at"
down_revision = "0001_core"
branch_labels = None
depends_on = None

ADVANCES = "action = 'cycle.advance'"
BACKFILL_PG = f"""
UPDATE audit_log SET reached_at = COALESCE(CAST(details->>'reached_at' AS timestamptz), at)
WHERE {ADVANCES}
"""
# SQLite keeps instants as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's format);
# strftime converts the ISO text with its offset to UTC, to the millisecond.
BACKFILL_SQLITE = f"""
UPDATE audit_log
SET reached_at = COALESCE(strftime('%Y-%m-%d %H:%M:%f', json_extract(details, '$.reached_at')) || '000', at)
WHERE {ADVANCES}
"""
NO_UPDATE_SQLITE = """
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
"""


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("reached_at", sa.DateTime(timezone=True)))
    if Dialect.of(op.get_bind()).pg:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        op.execute(BACKFILL_PG)
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute(BACKFILL_SQLITE)
        op.execute(NO_UPDATE_SQLITE)
    # the chart leaves out advances after a reopen: this makes that test free
    op.create_index("ix_audit_reopen", "audit_log", ["cycle_id", "id"],
                    postgresql_where=sa.text("action = 'cycle.reopen'"),
                    sqlite_where=sa.text("action = 'cycle.reopen'"))


def downgrade() -> None:
    op.drop_index("ix_audit_reopen", "audit_log")
    op.drop_column("audit_log", "reached_at")

"""Outbox: no foreign keys on `notifications` (campaign, cycle, unit).

A full sweep inserts a notice per late cycle — 300,000 rows in one `INSERT … SELECT` — and
PostgreSQL checked each row's three foreign keys one by one, locking the campaign, cycle and
unit rows it pointed at (`FOR KEY SHARE`): three look-ups and locks per notice, on the
sweep's critical path. The sweep takes those ids from the very rows it joins, and nothing deletes
campaigns, cycles or units (units are deactivated), so the keys guarded nothing the outbox
needs; their `ON DELETE CASCADE` is gone with them. SQLite rebuilds the table (batch mode).

Revision ID: 0003_outbox_without_foreign_keys
Revises: 0002_audit_reached_at
"""

from __future__ import annotations

from alembic import op

from workflow.sqlrender import Dialect

revision = "0003_outbox_without_foreign_keys"
down_revision = "0002_audit_reached_at"
branch_labels = None
depends_on = None

#: column, referred table, ON DELETE
KEYS = [("campaign_id", "campaigns", "CASCADE"), ("cycle_id", "cycles", "CASCADE"), ("unit_id", "units", None)]
#: names for SQLite's unnamed keys, so batch mode can drop them
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


def _name(column: str) -> str:
    return f"notifications_{column}_fkey"  # PostgreSQL's name for them (0001_core named none)


def upgrade() -> None:
    if Dialect.of(op.get_bind()).pg:
        for column, _, _ in KEYS:
            op.drop_constraint(_name(column), "notifications", type_="foreignkey")
        return
    with op.batch_alter_table("notifications", naming_convention=SQLITE_NAMES) as batch:
        for column, _, _ in KEYS:
            batch.drop_constraint(f"fk_notifications_{column}", type_="foreignkey")


def downgrade() -> None:
    """Put the keys back; this fails if rows point at campaigns, cycles or units deleted meanwhile."""
    if Dialect.of(op.get_bind()).pg:
        for column, table, ondelete in KEYS:
            op.create_foreign_key(_name(column), "notifications", table, [column], ["id"],
                                  ondelete=ondelete)
        return
    with op.batch_alter_table("notifications") as batch:
        for column, table, ondelete in KEYS:
            batch.create_foreign_key(_name(column), table, [column], ["id"], ondelete=ondelete)

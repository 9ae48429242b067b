"""Core schema: units, campaigns, milestones, cycles, extensions, audit log, outbox.

Revision ID: 0001_core
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.sqlrender import Dialect

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

APPEND_ONLY_SQLITE = """
CREATE TRIGGER audit_log_no_{op} BEFORE {OP} ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
"""
APPEND_ONLY_PG = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("units.id"), nullable=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("secretary", sa.String(255)),
        sa.Column("email", sa.String(255)),
        sa.Column("zalo_user_id", sa.String(64)),
        sa.Column("phone", sa.String(32)),
        sa.Column("has_committee", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_units_parent_id", "units", ["parent_id"])
    op.create_index("ix_units_path", "units", ["path"])
    if Dialect.of(op.get_bind()).pg:
        # prefix searches (`path LIKE '/1/5/%'`) use this index whatever the collation
        op.execute("CREATE INDEX ix_units_path_prefix ON units (path varchar_pattern_ops)")

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False, unique=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("rule_set", sa.String(16), nullable=False),
        sa.Column("excellent_quota", sa.Float, nullable=False),
        sa.Column("hierarchy", sa.String(64), nullable=False),
        sa.Column("root_unit_id", sa.Integer, sa.ForeignKey("units.id")),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("stage_rank", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(8), nullable=False),
        sa.Column("plan_date", sa.Date, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.UniqueConstraint("campaign_id", "level", "stage"),
    )
    op.create_table(
        "cycles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("stage_rank", sa.Integer, nullable=False),
        sa.Column("stages_mask", sa.Integer, nullable=False),
        sa.Column("stale", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state_changed_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("campaign_id", "unit_id"),
    )
    op.create_index("ix_cycles_unit_id", "cycles", ["unit_id"])
    op.create_index("ix_cycles_campaign_rank", "cycles", ["campaign_id", "stage_rank"])
    op.create_table(
        "deadline_extensions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cycle_id", sa.Integer, sa.ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("stage_rank", sa.Integer, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("cycle_id", "stage"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE")),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id")),
        sa.Column("cycle_id", sa.Integer, sa.ForeignKey("cycles.id", ondelete="CASCADE")),
        sa.Column("from_state", sa.String(32)),
        sa.Column("to_state", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.JSON),
    )
    op.create_index("ix_audit_unit_at", "audit_log", ["unit_id", "at"])
    op.create_table(
        "notifications",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("dedup_key", sa.String(255), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(255), nullable=False),
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE")),
        sa.Column("cycle_id", sa.Integer, sa.ForeignKey("cycles.id", ondelete="CASCADE")),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id")),
        sa.Column("stage", sa.String(32)),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_until", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sent_at", TS),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_index("ix_notifications_unit", "notifications", ["unit_id", "created_at"])

    if Dialect.of(op.get_bind()).pg:
        op.execute(APPEND_ONLY_PG)
    else:
        for name in ("update", "delete"):
            op.execute(APPEND_ONLY_SQLITE.format(op=name, OP=name.upper()))


def downgrade() -> None:
    if Dialect.of(op.get_bind()).pg:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in ("notifications", "audit_log", "deadline_extensions", "cycles", "milestones",
                  "campaigns", "units"):
        op.drop_table(table)

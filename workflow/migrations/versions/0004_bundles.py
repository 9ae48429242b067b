"""The notice ledger: what each (cycle, stage) was told, so an outbox row can be a day's bundle.

An outbox row is now one message per recipient, channel and local day listing every stage
the unit owes. What was said about each stage is kept here, one row per (cycle, stage,
window) — the de-duplication the outbox key used to carry — with the day and the bundle
that carried it, so a repeated sweep writes nothing twice and "Nhắc lại lần N" counts the
messages really written for that stage. Nothing to backfill: outbox rows written before
this revision keep their shape and are delivered as they are.

Revision ID: 0004_bundles
Revises: 0003_outbox_without_foreign_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_bundles"
down_revision = "0003_outbox_without_foreign_keys"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("cycle_id", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False),
        sa.Column("bundle", sa.String(16), nullable=False),
        sa.Column("to_unit_id", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("shown_kind", sa.String(16), nullable=False),
        sa.Column("repeat", sa.Integer, nullable=False),
        sa.Column("milestone_id", sa.Integer, nullable=False),
        sa.Column("extension_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("cycle_id", "stage", "kind", "occurrence", name="uq_notices_window"),
    )
    op.create_index("ix_notices_bundle_day", "notices", ["to_unit_id", "bundle", "day"])
    op.create_index("ix_notices_created", "notices", ["created_at"])


def downgrade() -> None:
    op.drop_table("notices")

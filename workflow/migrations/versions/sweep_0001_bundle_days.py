"""One row per unit, kind of bundle and local day; a parent's escalations recorded there only.

The notice ledger held one `escalation` row per (child, stage) a parent was told of: on a
national first day as many rows as late notices, each probed again by every later sweep.
A parent is owed an escalation when one of its (child, stage) pairs reaches its escalation
instant after the parent's last escalation, so what must be kept is one row per (parent,
day), its `created_at` that last instant. A unit's own bundle of the day gets its row too:
"one message a day" becomes a unique key, and a sweep that finds every unit already told
today reads one row per unit instead of one per notice. The ledger's indexes by recipient
and day and by instant go: the sweep finds its own rows past the highest id it read.

The rows of earlier bundles are copied from the ledger, one per (campaign, kind, day,
unit); the ledger's escalation rows are left where they are (nothing reads them).
Downgrade drops the table and restores the indexes: the earlier code then finds the
(child, stage) pairs escalated after the upgrade untold, and tells each parent once more.

Revision ID: sweep_0001_bundle_days
Revises: house_0001_delivery_record
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sweep_0001_bundle_days"
down_revision = "house_0001_delivery_record"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "bundle_days",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("bundle", sa.String(16), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("campaign_id", "bundle", "day", "unit_id", name="uq_bundle_days"),
    )
    op.execute("INSERT INTO bundle_days (campaign_id, bundle, day, unit_id, created_at) "
               "SELECT campaign_id, bundle, day, to_unit_id, MAX(created_at) FROM notices "
               "GROUP BY campaign_id, bundle, day, to_unit_id")
    op.drop_index("ix_notices_bundle_day", table_name="notices")
    op.drop_index("ix_notices_created", table_name="notices")


def downgrade() -> None:
    op.create_index("ix_notices_created", "notices", ["created_at"])
    op.create_index("ix_notices_bundle_day", "notices", ["to_unit_id", "bundle", "day"])
    op.drop_table("bundle_days")

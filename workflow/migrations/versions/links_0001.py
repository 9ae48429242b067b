"""The units' personal links: the current nonce and token hash per (campaign, unit), and
the hashes of revoked links.

Revision ID: links_0001
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "links_0001"
down_revision = "0001_core"
branch_labels = ("links",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "unit_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("issued_at", TS, nullable=False),
        sa.UniqueConstraint("campaign_id", "unit_id"),
    )
    op.create_table(
        "revoked_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
        sa.Column("revoked_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("revoked_links")
    op.drop_table("unit_links")

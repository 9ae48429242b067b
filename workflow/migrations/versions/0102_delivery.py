"""Delivery: the channels an instance finds down (`channel_health`, see notifiers.health).

Revision ID: 0102_delivery
Revises: 0101_notifiers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision = "0102_delivery"
down_revision = "0101_notifiers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_health",
        sa.Column("instance", sa.String(255), primary_key=True),
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("down_since", TS, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("next_probe_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_health")

"""Notifiers: the Zalo token pair (refreshed under a row lock).

Revision ID: 0101_notifiers
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101_notifiers"
down_revision = "0001_core"
branch_labels = ("notifiers",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zalo_tokens",
        sa.Column("app_id", sa.String(64), primary_key=True),
        sa.Column("access_token", sa.Text),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("seed_digest", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("zalo_tokens")

"""What each delivery attempt left on its outbox row: the peer's reference and how long it took.

`reference` is the id the peer gave the message (the Message-ID, Zalo's msg_id, the
webhook's id, the outbox file), so an officer can find a message in the mail server's log
or Zalo's console; `duration_ms` is how long the last attempt took (render and send), so a
slow peer shows on the row. Both are empty on rows sent before this revision.

Revision ID: house_0001_delivery_record
Revises: 0004_bundles
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "house_0001_delivery_record"
down_revision = "0004_bundles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("reference", sa.String(255), nullable=True))
    op.add_column("notifications", sa.Column("duration_ms", sa.Float, nullable=True))


def downgrade() -> None:
    op.drop_column("notifications", "duration_ms")
    op.drop_column("notifications", "reference")

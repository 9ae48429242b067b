"""Web monitor: sessions held on the server, login counters; the signing key leaves the database.

Revision ID: web_0002_sessions
Revises: web_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "web_0002_sessions"
down_revision = "web_0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(128), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("blocked_until", TS, nullable=False),
    )
    op.drop_table("login_attempts")
    op.drop_table("web_keys")  # the key is KIEMDIEM_SECRET_KEY or var/secret.key now


def downgrade() -> None:
    op.create_table(
        "web_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
    )
    op.create_index("ix_login_attempts_name_at", "login_attempts", ["name", "at"])
    op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"])
    op.drop_table("login_counters")
    op.drop_index("ix_web_sessions_user_id", "web_sessions")
    op.drop_table("web_sessions")

"""What the dispatchers keep between sends: migrations `0101_notifiers` and `0102_delivery`.

The Zalo token pair is refreshed under a row lock (`notifiers/tokens.py`); a channel's
outage is noted per instance and probed (`notifiers/health.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.models.core import Base


class ZaloToken(Base):
    """The current token pair of one Zalo app; `seed_digest` notes which configured refresh
    token it descends from, so configuring a new one (after re-authorising) replaces it."""

    __tablename__ = "zalo_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    seed_digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class ChannelHealth(Base):
    """A channel one instance considers down (no row: up), refreshed at each of its probes."""

    __tablename__ = "channel_health"

    instance: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    down_since: Mapped[datetime]
    error: Mapped[str] = mapped_column(Text)
    next_probe_at: Mapped[datetime]
    updated_at: Mapped[datetime]

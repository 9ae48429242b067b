"""The units' personal links (`/r/<token>`): migration `links_0001`.

Each row keeps a nonce and the hash of its token, never the token: the token is computed
from the nonce under a key kept outside the database (`workflow/links.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.models.core import Base


class UnitLink(Base):
    """The current link of one unit in one campaign: its nonce and its token's hash."""

    __tablename__ = "unit_links"
    __table_args__ = (UniqueConstraint("campaign_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    nonce: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]


class RevokedLink(Base):
    """A link that was replaced: its page says so instead of answering "not found"."""

    __tablename__ = "revoked_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    revoked_at: Mapped[datetime]

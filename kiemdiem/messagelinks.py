"""Which link a message carries, decided when the dispatcher renders it.

A message to a unit (a reminder, a late notice, an escalation to a parent) carries that
unit's own personal link (`workflow.links`), never another unit's; a message to the office
(its escalations and digests, sent to the plan's `late.office_email`) keeps the monitor's
address the sweep put in its payload. The link is computed from the stored nonce at each
rendering, so a link revoked after the sweep wrote the row is never delivered, and the
outbox keeps no token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select

from workflow.db import Database
from workflow.links import LinkKeys, token_for
from workflow.models import Campaign, Unit, UnitLink

#: the `unit_code` the sweep gives the office's escalations
OFFICE_CODE = "office"


#: how long the campaign of a year (its id and office address) is remembered
CAMPAIGN_TTL_SECONDS = 60.0
_CAMPAIGN = select(Campaign.id, Campaign.plan).where(Campaign.year == bindparam("year"))
#: one unit's nonce in a campaign: the one statement a message costs, prepared once
_NONCE = (select(UnitLink.nonce).join(Unit, Unit.id == UnitLink.unit_id)
          .where(UnitLink.campaign_id == bindparam("campaign_id"), Unit.code == bindparam("code")))


class MessageLinks:
    """The `LinkFor` of the renderer: (kind, recipient, payload) -> the recipient unit's link.

    It runs on the dispatcher's event loop for every message, so it costs at most one
    prepared statement on a pooled connection (no ORM session); the campaign of a year is
    remembered for a minute, and a year without a campaign costs nothing.
    """

    def __init__(self, db: Database, links: LinkKeys) -> None:
        self.db, self.links = db, links
        self.campaigns: dict[int, tuple[float, int | None, str | None]] = {}

    def __call__(self, kind: str, recipient: str, payload: Mapping[str, Any]) -> str | None:
        code, year = payload.get("unit_code"), payload.get("year")
        if not code or code == OFFICE_CODE or not isinstance(year, int):
            return None
        campaign_id, office = self._campaign(year)
        if campaign_id is None or (office and recipient.strip().lower() == office):
            return None
        nonce = self._nonce(campaign_id, code)
        if nonce is None:  # the campaign's first message: issue every unit's link at once
            with self.db.session(write=True) as session:
                if not self.links.issue_missing(session, campaign_id):
                    return None  # the unit has no cycle in this campaign
            nonce = self._nonce(campaign_id, code)
        return self.links.url(token_for(self.links.key, nonce)) if nonce else None

    def _campaign(self, year: int) -> tuple[int | None, str | None]:
        known = self.campaigns.get(year)
        if known is None or time.monotonic() - known[0] > CAMPAIGN_TTL_SECONDS:
            with self.db.engine.connect() as conn:
                row = conn.execute(_CAMPAIGN, {"year": year}).first()
            office = _office(row.plan) if row is not None else None
            known = (time.monotonic(), row.id if row is not None else None, office)
            self.campaigns[year] = known
        return known[1], known[2]

    def _nonce(self, campaign_id: int, code: str) -> str | None:
        with self.db.engine.connect() as conn:
            return conn.execute(_NONCE, {"campaign_id": campaign_id, "code": code}).scalar()


def _office(plan: Mapping[str, Any] | None) -> str | None:
    """The office's address in a plan (`late.office_email`), lower-cased, if it has one."""
    office = ((plan or {}).get("late") or {}).get("office_email")
    return str(office).strip().lower() if office else None

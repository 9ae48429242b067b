"""Which link a message carries, decided when the dispatcher renders it.

A message to a unit (a reminder, a late notice, an escalation to a parent) carries that
unit's own personal link (`workflow.links`), never another unit's; a message to the office
(its escalations and digests, sent to the plan's `late.office_email`) keeps the monitor's
address the sweep put in its payload. The link is computed from the stored nonce at each
rendering, so a link revoked after the sweep wrote the row is never delivered, and the
outbox keeps no token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from workflow.db import Database
from workflow.links import LinkKeys, UnitLink, token_for
from workflow.models import Campaign, Unit

#: the `unit_code` the sweep gives the office's escalations
OFFICE_CODE = "office"


class MessageLinks:
    """The `LinkFor` of the renderer: (kind, recipient, payload) -> the recipient unit's link."""

    def __init__(self, db: Database, links: LinkKeys) -> None:
        self.db, self.links = db, links

    def __call__(self, kind: str, recipient: str, payload: Mapping[str, Any]) -> str | None:
        code, year = payload.get("unit_code"), payload.get("year")
        if not code or code == OFFICE_CODE or not isinstance(year, int):
            return None
        with self.db.session() as session:
            campaign = session.execute(select(Campaign.id, Campaign.plan)
                                       .where(Campaign.year == year)).first()
            if campaign is None or _is_office(campaign.plan, recipient):
                return None
            nonce = self._nonce(session, campaign.id, code)
        if nonce is None:  # the campaign's first message: issue every unit's link at once
            with self.db.session(write=True) as session:
                if not self.links.issue_missing(session, campaign.id):
                    return None  # the unit has no cycle in this campaign
                nonce = self._nonce(session, campaign.id, code)
        return self.links.url(token_for(self.links.key, nonce)) if nonce else None

    def _nonce(self, session: Any, campaign_id: int, code: str) -> str | None:
        return session.scalar(select(UnitLink.nonce).join(Unit, Unit.id == UnitLink.unit_id)
                              .where(UnitLink.campaign_id == campaign_id, Unit.code == code))


def _is_office(plan: Mapping[str, Any] | None, recipient: str) -> bool:
    office = ((plan or {}).get("late") or {}).get("office_email")
    return bool(office) and recipient.strip().lower() == str(office).strip().lower()

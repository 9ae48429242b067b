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

from sqlalchemy import and_, bindparam, join, select

from workflow.db import Database
from workflow.links import LinkKeys, UnitLink, token_for
from workflow.models import Campaign, Unit

#: the `unit_code` the sweep gives the office's escalations
OFFICE_CODE = "office"


#: the campaign of a year, its office address, and one unit's nonce in it (NULL when the
#: unit has no link yet): one statement per message, prepared once
_LOOKUP = (
    select(Campaign.id, Campaign.plan, UnitLink.nonce)
    .select_from(Campaign)
    .outerjoin(join(UnitLink, Unit, and_(Unit.id == UnitLink.unit_id, Unit.code == bindparam("code"))),
               UnitLink.campaign_id == Campaign.id)
    .where(Campaign.year == bindparam("year"))
)


class MessageLinks:
    """The `LinkFor` of the renderer: (kind, recipient, payload) -> the recipient unit's link.

    It runs on the dispatcher's event loop for every message, so it costs one prepared
    statement on a pooled connection, no ORM session.
    """

    def __init__(self, db: Database, links: LinkKeys) -> None:
        self.db, self.links = db, links

    def __call__(self, kind: str, recipient: str, payload: Mapping[str, Any]) -> str | None:
        code, year = payload.get("unit_code"), payload.get("year")
        if not code or code == OFFICE_CODE or not isinstance(year, int):
            return None
        found = self._lookup(code, year)
        if found is None or _is_office(found.plan, recipient):
            return None
        nonce = found.nonce
        if nonce is None:  # the campaign's first message: issue every unit's link at once
            with self.db.session(write=True) as session:
                if not self.links.issue_missing(session, found.id):
                    return None  # the unit has no cycle in this campaign
            nonce = self._lookup(code, year).nonce  # type: ignore[union-attr]
        return self.links.url(token_for(self.links.key, nonce)) if nonce else None

    def _lookup(self, code: str, year: int) -> Any:
        with self.db.engine.connect() as conn:
            return conn.execute(_LOOKUP, {"code": code, "year": year}).first()


def _is_office(plan: Mapping[str, Any] | None, recipient: str) -> bool:
    office = ((plan or {}).get("late") or {}).get("office_email")
    return bool(office) and recipient.strip().lower() == str(office).strip().lower()

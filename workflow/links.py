"""Each unit's personal link for a campaign: `{public_url}/r/<token>`, no account needed.

The token is HMAC-SHA256(secret key, nonce) in base64url (256 bits). The database keeps, per
(unit, campaign), the random nonce and the SHA-256 of the token, never the token: a copy of
the database alone cannot produce a working link (the key lives outside it), and a page
finds its unit by the hash, one indexed look-up whose cost does not depend on how much of a
wrong token matches. Messages are rendered long after the sweep wrote them, so the link is
recomputed from the nonce at delivery time and never stored in the outbox.

Revoking draws a new nonce; the old token's hash moves to `revoked_links`, so the old link
answers "revoked" instead of "not found". Links are issued lazily, when a message, the CLI
or the monitor first needs one, for every unit of the campaign still without one (so
campaigns created before this module existed have links too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from workflow.audit import record
from workflow.clock import Clock
from workflow.errors import NotFound, Problem
from workflow.models import Campaign, Cycle, RevokedLink, Unit, UnitLink
from workflow.sqlrender import Dialect

#: links issued per INSERT when a campaign's missing links are filled in
ISSUE_BATCH = 5_000


def token_for(key: bytes, nonce: str) -> str:
    """Return the token of a nonce: HMAC-SHA256 under the secret key, base64url, no padding."""
    mac = hmac.new(key, nonce.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    """Return the stored form of a token (its SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)  # 128 random bits


@dataclass(frozen=True)
class Found:
    """What a token names: `status` is `ok`, `revoked`, `expired` (a later campaign exists)
    or `inactive` (the unit was deactivated); `cycle` is None when the unit has none."""

    status: str
    campaign: Campaign
    unit: Unit
    cycle: Cycle | None


class LinkKeys:
    """Issue, revoke, compute and resolve links with one secret key."""

    def __init__(self, key: bytes, public_url: str, clock: Clock) -> None:
        self.key, self.base, self.clock = key, public_url.rstrip("/"), clock

    def url(self, token: str) -> str:
        return f"{self.base}/r/{token}"

    def _row(self, nonce: str, campaign_id: int, unit_id: int, now: datetime) -> dict[str, Any]:
        return {"campaign_id": campaign_id, "unit_id": unit_id, "nonce": nonce,
                "token_hash": token_hash(token_for(self.key, nonce)), "issued_at": now}

    def issue_missing(self, session: Session, campaign_id: int,
                      unit_ids: Iterable[int] | None = None) -> int:
        """Give every unit of the campaign (or those of `unit_ids`) a link if it has none.

        Two processes filling in at once both skip the rows the other wrote (ON CONFLICT).
        """
        have = select(UnitLink.unit_id).where(UnitLink.campaign_id == campaign_id)
        query = select(Cycle.unit_id).where(Cycle.campaign_id == campaign_id,
                                            Cycle.unit_id.not_in(have))
        if unit_ids is not None:
            query = query.where(Cycle.unit_id.in_(list(unit_ids)))
        missing = list(session.scalars(query))
        now = self.clock()
        for start in range(0, len(missing), ISSUE_BATCH):
            rows = [self._row(new_nonce(), campaign_id, uid, now)
                    for uid in missing[start:start + ISSUE_BATCH]]
            _insert_ignoring_conflicts(session, rows)
        return len(missing)

    def tokens(self, session: Session, campaign_id: int,
               unit_ids: Sequence[int] | None = None) -> dict[int, str]:
        """Return {unit id: token} for the campaign's units (or `unit_ids`), issuing as needed."""
        self.issue_missing(session, campaign_id, unit_ids)
        query = select(UnitLink.unit_id, UnitLink.nonce).where(UnitLink.campaign_id == campaign_id)
        if unit_ids is not None:
            query = query.where(UnitLink.unit_id.in_(list(unit_ids)))
        return {uid: token_for(self.key, nonce) for uid, nonce in session.execute(query)}

    def token(self, session: Session, campaign_id: int, unit_id: int) -> str | None:
        """Return one unit's token (None if the unit has no cycle in the campaign)."""
        nonce = session.scalar(select(UnitLink.nonce).where(UnitLink.campaign_id == campaign_id,
                                                            UnitLink.unit_id == unit_id))
        if nonce is None:
            return self.tokens(session, campaign_id, [unit_id]).get(unit_id)
        return token_for(self.key, nonce)

    def revoke(self, session: Session, campaign: Campaign, unit: Unit, actor: str,
               how: str) -> str:
        """Kill the unit's link and issue a new one (audited); return the new token."""
        self.issue_missing(session, campaign.id, [unit.id])
        link = session.scalar(select(UnitLink).where(UnitLink.campaign_id == campaign.id,
                                                     UnitLink.unit_id == unit.id))
        if link is None:
            raise NotFound("link.unit_not_in_campaign", code=unit.code, year=campaign.year)
        now = self.clock()
        session.add(RevokedLink(token_hash=link.token_hash, campaign_id=campaign.id,
                                unit_id=unit.id, revoked_at=now))
        nonce = new_nonce()
        session.execute(update(UnitLink).where(UnitLink.id == link.id).values(
            nonce=nonce, token_hash=token_hash(token_for(self.key, nonce)), issued_at=now))
        record(session, self.clock, actor, "link.revoke", campaign_id=campaign.id, unit_id=unit.id,
               reason=Problem("audit.link_reissued"), details={"via": how})
        return token_for(self.key, nonce)

    def resolve(self, session: Session, token: str) -> Found | None:
        """Find what a token names; None for a token that never existed (a plain 404).

        One statement whatever the token (one round trip on PostgreSQL): the hash looked up
        in both tables at once, joined to the campaign, unit and cycle, with the latest year
        (a later campaign expires links).
        """
        row = session.execute(_RESOLVE, {"digest": token_hash(token)}).first()
        if row is None:
            return None
        campaign, unit, cycle, latest, revoked = row
        status = ("revoked" if revoked else "expired" if latest > campaign.year
                  else "inactive" if not unit.active else "ok")
        return Found(status, campaign, unit, cycle)


_BY_HASH = union_all(
    select(UnitLink.campaign_id, UnitLink.unit_id, literal(False).label("revoked"))
    .where(UnitLink.token_hash == bindparam("digest")),
    select(RevokedLink.campaign_id, RevokedLink.unit_id, literal(True).label("revoked"))
    .where(RevokedLink.token_hash == bindparam("digest")),
).subquery("hit")
_ANY = aliased(Campaign)
_RESOLVE = (
    select(Campaign, Unit, Cycle, select(func.max(_ANY.year)).scalar_subquery(), _BY_HASH.c.revoked)
    .select_from(_BY_HASH)
    .join(Unit, Unit.id == _BY_HASH.c.unit_id)
    .join(Campaign, Campaign.id == _BY_HASH.c.campaign_id)
    .outerjoin(Cycle, and_(Cycle.unit_id == Unit.id, Cycle.campaign_id == Campaign.id))
)


def _insert_ignoring_conflicts(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    session.execute(Dialect.of(session).insert(UnitLink).on_conflict_do_nothing(), rows)

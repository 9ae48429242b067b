"""The daily digest: one message per Ban Tổ chức address per local day, not one per unit.

For each campaign whose plan names `late.office_email`, one set-based query
(`workflow.queries.overdue_rows`) finds every late (unit, stage) under the campaign's root;
the digest row carries the latest of them in `late_units`, their number in `late_count`,
and the template groups them by their parent, then by stage. It is the office's one message
a day: the sweep writes escalations to parents only.
Its de-duplication key names the office, the local date and the channel, so running the
daily job twice in a day writes nothing the second time (and a day whose digest exists
costs one lookup, not the overdue queries: `serve` asks after every sweep). Rows are only
written; the dispatcher delivers them like any other. The digest also says how many
messages could not be delivered since the previous one, and why (`undelivered`), so the
office learns of abandoned and refused messages without reading logs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from notifiers.outbox import insert_ignoring_conflicts, undelivered
from workflow.clock import Clock
from workflow.db import Database
from workflow.lookup import current_campaign
from workflow.models import Campaign, Notification, Unit
from workflow.queries import LISTED_LATE_UNITS, overdue_count, overdue_rows

#: channels that deliver to an email address (the office is known only by its address)
ADDRESS_CHANNELS = ("email", "file")


def late_units(session: Session, campaign: Campaign, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn `overdue` rows into the payload's `late_units`: contract keys, the deadline in the
    campaign's zone with its rule, plan date and wording, and the unit's parent (the digest
    groups by it)."""
    rows = list(rows)
    zone = ZoneInfo(campaign.timezone)
    parent = aliased(Unit)
    parents = {code: (parent_code, parent_name) for code, parent_code, parent_name in session.execute(
        select(Unit.code, parent.code, parent.name).join(parent, parent.id == Unit.parent_id)
        .where(Unit.code.in_({r["unit"] for r in rows})))} if rows else {}
    return [{"unit_code": r["unit"], "unit_name": r["name"], "level": r["level"], "stage": r["stage"],
             **r["deadline"].as_json_members(zone), "deadline_text": str(r["deadline"]),
             "days_late": r["days_late"], "secretary": r["secretary"],
             "parent_code": parents.get(r["unit"], (None, None))[0],
             "parent_name": parents.get(r["unit"], (None, None))[1]} for r in rows]


#: at most this many (channel, reason) lines of undelivered messages in one digest
LISTED_REASONS = 20


def digest_payload(campaign: Campaign, root: Unit | None, day: str, link: str,
                   units: list[dict[str, Any]], late_count: int,
                   lost: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A payload with every key of the outbox contract (unit-specific ones empty)."""
    return {"year": campaign.year, "unit_code": root.code if root else None,
            "unit_name": root.name if root else "", "level": root.level if root else None,
            "stage": None, "stage_label": "", "deadline": None, "deadline_rule": None,
            "plan_date": None, "days_before": None, "days_late": None, "occurrence": day,
            "secretary": None, "link": link, "late_units": units, "late_count": late_count, "day": day,
            "undelivered_count": sum(r["count"] for r in lost or []),
            "undelivered": (lost or [])[:LISTED_REASONS]}


def _previous_digest(session: Any, office: str, before: str) -> datetime | None:
    """When the office's latest digest before today was written (None: never)."""
    return session.scalar(select(func.max(Notification.created_at))
                          .where(Notification.kind == "digest", Notification.recipient == office,
                                 Notification.dedup_key < before))


def write_digests(db: Database, clock: Clock, channels: Iterable[str], public_url: str) -> int:
    """Write today's digest rows for every campaign with an office address; return how many."""
    with db.session(write=True) as session:
        return write_digests_in(session, clock(), channels, public_url)


def write_digests_in(session: Session, now: datetime, channels: Iterable[str], public_url: str) -> int:
    """`write_digests` in the caller's transaction (`simulate` rolls it back)."""
    channels = [c for c in channels if c in ADDRESS_CHANNELS]
    written = 0
    for campaign in filter(None, [current_campaign(session)]):
        office = ((campaign.plan or {}).get("late") or {}).get("office_email")
        if not office or not channels:
            continue
        day = now.astimezone(ZoneInfo(campaign.timezone)).date().isoformat()
        keys = {channel: f"{campaign.year}:digest:{office}:{day}:{channel}" for channel in channels}
        if session.scalar(select(func.count()).where(Notification.dedup_key.in_(keys.values()))) == len(keys):
            continue  # today's digest is written
        root = session.get(Unit, campaign.root_unit_id) if campaign.root_unit_id else None
        # the latest first, at most LISTED_LATE_UNITS of them, all counted: a late country
        # is 300,000 rows, too many for one message (and for `serve`'s memory)
        units = late_units(session, campaign,
                           overdue_rows(session, campaign, now, under=root, limit=LISTED_LATE_UNITS))
        lost = undelivered(session, _previous_digest(session, office, f"{campaign.year}:digest:{office}:{day}"))
        if not units and not lost:
            continue
        count = overdue_count(session, campaign, now, under=root) if len(units) == LISTED_LATE_UNITS \
            else len(units)
        payload = digest_payload(campaign, root, day, public_url.rstrip("/") + "/", units, count, lost)
        written += insert_ignoring_conflicts(session, Notification, [dict(
            dedup_key=keys[channel], kind="digest",
            channel=channel, recipient=office, campaign_id=campaign.id,
            unit_id=root.id if root else None, stage=None, payload=payload,
            status="pending", attempts=0, next_attempt_at=now, created_at=now,
            updated_at=now) for channel in channels])
    return written

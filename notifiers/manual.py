"""A reminder an officer sends now from the monitor: outbox rows of kind `manual`.

The sweeps remind on the plan's schedule; an officer who has just phoned a late cell may want
the written reminder to follow at once. It goes through the outbox like every message (the
dispatchers deliver it, retries and all), to every address the unit has on the enabled
channels, about the unit's next owed stage. At most one per unit per hour: the rows of the
last hour are looked for in the same transaction, and the de-duplication key carries the
hour, so two officers pressing the button at the same moment write one set of rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from config.addresses import zns_number
from config.zone import DEFAULT_ZONE
from notifiers.outbox import insert_ignoring_conflicts
from workflow.audit import record
from workflow.clock import Clock, days_late
from workflow.db import Database
from workflow.errors import Refused
from workflow.extensions import effective_deadlines
from workflow.lookup import get_campaign
from workflow.models import Cycle, Notification, Unit
from workflow.notices import Due
from workflow.stages import LABEL, next_stage

KIND = "manual"
EVERY = timedelta(hours=1)


def recipients(unit: Unit, channels: tuple[str, ...]) -> dict[str, str]:
    """The unit's address on each enabled channel it can be reached on (the sweep's rule)."""
    email = unit.email or None
    by_channel = {"email": email, "zalo_zns": zns_number(unit.phone), "zalo_oa": unit.zalo_user_id or None,
                  "webhook": unit.code, "file": email or unit.code}
    return {c: by_channel[c] for c in channels if by_channel.get(c)}  # type: ignore[misc]


def remind_now(db: Database, clock: Clock, unit_id: int, *, channels: tuple[str, ...],
               public_url: str, actor: str) -> list[str]:
    """Write a `manual` reminder to the unit about its next owed stage; return the channels.

    Refused (a code the web words) when the unit owes nothing, has no address, or was
    reminded this way within the hour.
    """
    now = clock()
    with db.session(write=True) as session:
        campaign = get_campaign(session, None)
        unit = session.get(Unit, unit_id)
        cycle = session.scalar(select(Cycle).where(Cycle.campaign_id == campaign.id,
                                                   Cycle.unit_id == unit_id))
        if unit is None or cycle is None:
            raise Refused("remind.not_in_campaign")
        stage = next_stage(cycle.state, cycle.stages_mask)
        if stage is None or stage == "aggregated":
            raise Refused("remind.nothing_owed", name=unit.name)
        last = session.scalar(select(Notification.created_at).where(
            Notification.unit_id == unit_id, Notification.kind == KIND,
            Notification.created_at > now - EVERY).order_by(Notification.created_at.desc()).limit(1))
        if last is not None:
            raise Refused("remind.too_soon", name=unit.name, at=_hhmm(last))
        addresses = recipients(unit, channels)
        if not addresses:
            raise Refused("remind.no_address", name=unit.name)
        payload = _payload(campaign.year, unit, stage, effective_deadlines(session, cycle, unit).get(stage),
                           now, public_url, actor)
        hour = now.strftime("%Y%m%d%H")
        written = insert_ignoring_conflicts(session, Notification, [dict(
            dedup_key=f"{campaign.year}:{unit.code}:{stage}:{KIND}:{hour}:{channel}:{recipient}",
            kind=KIND, channel=channel, recipient=recipient, campaign_id=campaign.id,
            cycle_id=cycle.id, unit_id=unit.id, stage=stage, payload=payload, status="pending",
            attempts=0, next_attempt_at=now, created_at=now, updated_at=now)
            for channel, recipient in addresses.items()])
        if not written:
            raise Refused("remind.this_hour", name=unit.name)
        record(session, clock, actor, "notice.manual", campaign_id=campaign.id, unit_id=unit.id,
               cycle_id=cycle.id, details={"stage": stage, "channels": sorted(addresses)})
        return sorted(addresses)


def _payload(year: int, unit: Unit, stage: str, deadline: Due | None,
             now: datetime, public_url: str, actor: str) -> dict[str, Any]:
    due = deadline.at if deadline else None
    return {"year": year, "unit_code": unit.code, "unit_name": unit.name, "level": unit.level,
            "secretary": unit.secretary, "stage": stage, "stage_label": LABEL[stage],
            **(deadline.as_json_members(DEFAULT_ZONE) if deadline else {"deadline": None}),
            "deadline_text": str(deadline) if deadline else "",
            "days_late": days_late(due, now) if due and due < now else None,
            "sender": actor, "link": f"{public_url.rstrip('/')}/units/{unit.code}"}


def _hhmm(instant: datetime) -> str:
    return f"{instant.astimezone(DEFAULT_ZONE):%H:%M}"

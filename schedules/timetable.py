"""The instants the scheduler wakes at: each reminder, deadline and escalation of a campaign.

Read from the milestones (a few dozen per campaign) and the distinct extended deadlines, and
expanded by `schedules.deadlines.milestone_instants`. One job per instant, never one per unit,
and at most `MAX_JOBS` of them: the earliest come first, the rest are picked up by later
refreshes as time passes, and the periodic catch-up sweep covers anything in between.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schedules.deadlines import Policy, milestone_instants
from workflow.campaigns import campaign_plan
from workflow.lookup import current_campaign
from workflow.models import Cycle, DeadlineExtension, Milestone, Unit

#: the scheduler's jobs stay well under 200 whatever the number of units
MAX_JOBS = 150


@dataclass(frozen=True)
class Timetable:
    """The future instants to wake at, and a fingerprint of the deadlines they came from."""

    instants: tuple[datetime, ...]
    fingerprint: str


def load_timetable(session: Session, now: datetime, limit: int = MAX_JOBS) -> Timetable:
    """Return the instants after `now` at which some deadline owes something new."""
    deadlines: set[tuple[int, str, datetime]] = set()
    policies: dict[int, Policy] = {}
    for campaign in filter(None, [current_campaign(session)]):
        policies[campaign.id] = Policy.from_plan(campaign_plan(campaign))
        rows = session.execute(select(Milestone.level, Milestone.due_at)
                               .where(Milestone.campaign_id == campaign.id))
        deadlines |= {(campaign.id, level, due) for level, due in rows}
        extended = session.execute(
            select(Unit.level, DeadlineExtension.due_at).distinct()
            .join(Cycle, Cycle.id == DeadlineExtension.cycle_id).join(Unit, Unit.id == Cycle.unit_id)
            .where(Cycle.campaign_id == campaign.id))
        deadlines |= {(campaign.id, level, due) for level, due in extended}
    digest = hashlib.sha256(repr(sorted(deadlines)).encode()).hexdigest()[:16]
    instants = {at for cid, level, due in deadlines
                for at in milestone_instants(due, policies[cid], level) if at > now}
    return Timetable(tuple(sorted(instants)[:limit]), digest)

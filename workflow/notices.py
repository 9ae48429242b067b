"""What a notice says about one deadline, built once in Python: the typed part of a payload.

A bundle (one message per recipient, channel and local day) lists items, one per stage
the unit owes; everything an item takes from its deadline alone — the stage, the plan's own
wording of the date, the instant in the campaign's zone, days late or left — is the same for
every unit of a milestone, so the sweep builds a `DeadlineItem` per milestone (and per
extension), a few dozen per season, and the database only joins them to the owed rows by
id. This module also owns the deadline phrase ("trước ngày 20/11/2026", "hoàn thành ngày
16/11/2026", `config.wording`) is said of every deadline here, once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from config.wording import deadline_phrase
from workflow.clock import DAY, days_late
from workflow.stages import LABEL

#: the kinds of outbox row the sweep writes, each a recipient's bundle of a day, which the
#: next day's bundle supersedes (the outbox gives up the older one)
BUNDLED_KINDS = ("reminder", "late", "repeat", "escalation")


def plan_day(due_at: datetime, rule: str, zone: ZoneInfo) -> date:
    """The day a plan names for a deadline instant: its local date, the day before for `by`.

    Used only where no plan date is stored (an extension); a milestone keeps its own
    `plan_date`, which stays right when a holiday moved its instant.
    """
    local = due_at.astimezone(zone).date()
    return local - timedelta(days=1) if rule == "by" else local


def local_iso(instant: datetime, zone: ZoneInfo) -> str:
    """An instant as ISO 8601 in the campaign's zone: 2026-11-20T00:00:00+07:00."""
    return instant.astimezone(zone).isoformat(timespec="seconds")


def days_left(deadline: datetime, now: datetime) -> int | None:
    """Whole days, rounded up, until a deadline still ahead (None once it has passed)."""
    if now >= deadline:
        return None
    return math.ceil((deadline - now) / DAY)


@dataclass(frozen=True)
class DeadlineItem:
    """One stage's deadline as a notice states it at one instant (keys of the outbox contract)."""

    stage: str
    stage_label: str
    deadline: str
    deadline_rule: str
    plan_date: str
    deadline_text: str
    days_late: int | None
    days_left: int | None

    @classmethod
    def build(cls, stage: str, due_at: datetime, rule: str, plan_date: date,
              now: datetime, zone: ZoneInfo) -> DeadlineItem:
        return cls(stage=stage, stage_label=LABEL.get(stage, stage), deadline=local_iso(due_at, zone),
                   deadline_rule=rule, plan_date=plan_date.isoformat(),
                   deadline_text=deadline_phrase(rule, plan_date),
                   days_late=days_late(due_at, now), days_left=days_left(due_at, now))

    @property
    def urgency(self) -> int:
        """Order items: the longest late first, then the nearest deadline."""
        if self.days_late is not None:
            return 1_000_000 + self.days_late
        return -(self.days_left or 0)


@dataclass(frozen=True)
class Due:
    """A deadline as people read it: its instant, and the plan's rule and date.

    `str()` is the plan's wording; JSON outputs carry the instant in the campaign's zone with
    `deadline_rule` and `plan_date` beside it (`as_json_members`).
    """

    at: datetime
    rule: str
    plan_date: date

    def __str__(self) -> str:
        return deadline_phrase(self.rule, self.plan_date)

    def as_json_members(self, zone: ZoneInfo) -> dict[str, str]:
        return {"deadline": local_iso(self.at, zone), "deadline_rule": self.rule,
                "plan_date": self.plan_date.isoformat()}


def extended_due(planned: Due | None, to: datetime, zone: ZoneInfo) -> Due:
    """The deadline an extension gives a stage: its instant, the plan's rule for the stage
    ("before" where the plan has none), and the day that rule names for the instant."""
    rule = planned.rule if planned is not None else "before"
    return Due(to, rule, plan_day(to, rule, zone))


class DeadlineBook:
    """The plan's deadlines of one campaign, to turn a (level, stage, instant) into a `Due`.

    A milestone's own instant keeps the plan's stored date (right even when a holiday moved
    the instant); any other instant is an extension, whose day follows from the rule.
    """

    def __init__(self, milestones: list[tuple[str, str, datetime, str, date]], zone: ZoneInfo) -> None:
        self.zone = zone
        self.by_stage = {(level, stage): Due(due, rule, day) for level, stage, due, rule, day in milestones}

    def due(self, level: str, stage: str, at: datetime) -> Due:
        planned = self.by_stage.get((level, stage))
        if planned is not None and planned.at == at:
            return planned
        return extended_due(planned, at, self.zone)

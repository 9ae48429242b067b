"""Deadline arithmetic: what a unit is owed, and when, as plain functions of instants.

No database, no scheduler, no clock: every function takes `now` and returns instants, so
the rules are tested with plain datetimes and the SQL sweep asks the same functions for its
bounds (`notice_windows`), which keeps the two from drifting apart.

The rules (the plan's policy keys are documented in the README, "Deadlines that fire"):

- Reminder `d` (each of `reminders_days_before`) is owed from `deadline - d days` until
  the next, closer reminder or the deadline. A reminder whose window has passed is not sent
  late: the closer reminder, or the late notice, says the same thing with truer numbers.
- A unit is late from `late_at = deadline + grace_days[level]`. The late notice (occurrence
  0) is owed from `late_at` until the first repeat; repeat `k` from `late_at + offset_k`
  until repeat `k+1`. Repeats come every `repeat_every_days`, each interval multiplied by
  `backoff` and rounded up to whole days, at most `max_repeats` of them (the last one's
  window then never closes). After an outage only the notice of the current window is owed.
- Escalation is owed once, from `late_at + escalate_after_days`, while the unit stays late.
- `days_late` (in `workflow.clock`) counts whole days since the deadline instant itself
  (10 days 8 hours: 10).
- Quiet hours (local time, the window may cross midnight) push a send time to the window's
  end, except on the exempt channels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from config.plan import Plan, QuietHours
from config.zone import DEFAULT_ZONE
from workflow.clock import DAY

#: a safety bound on repeats when the plan sets no `max_repeats` (about three years daily)
REPEAT_LIMIT = 1000


@dataclass(frozen=True)
class Policy:
    """The plan's reminder policy, in the shape the arithmetic needs."""

    reminders_days_before: tuple[int, ...] = (7, 3, 1)
    repeat_every_days: int = 2
    backoff: float = 1.0
    max_repeats: int | None = None
    escalate_after_days: int = 3
    grace_days: Mapping[str, int] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    zone: ZoneInfo = DEFAULT_ZONE

    def __post_init__(self) -> None:
        object.__setattr__(self, "reminders_days_before",
                           tuple(sorted(set(self.reminders_days_before), reverse=True)))

    @classmethod
    def from_plan(cls, plan: Plan) -> Policy:
        late = plan.late
        return cls(plan.reminders_days_before, late.repeat_every_days, late.backoff,
                   late.max_repeats, late.escalate_after_days, dict(late.grace_days),
                   plan.quiet_hours, plan.zone)

    def grace(self, level: str) -> timedelta:
        return self.grace_days.get(level, 0) * DAY

    def repeat_offsets(self, horizon: timedelta) -> list[timedelta]:
        """Return the offsets from `late_at` of repeats 1, 2, … up to `horizon` (or max_repeats).

        The first offset past `horizon` is included, so a caller always knows where the
        current window ends.
        """
        limit = REPEAT_LIMIT if self.max_repeats is None else self.max_repeats
        offsets: list[timedelta] = []
        total = timedelta(0)
        interval = float(self.repeat_every_days)
        while len(offsets) < limit:
            total += math.ceil(interval - 1e-9) * DAY
            offsets.append(total)
            if total > horizon:
                break
            interval *= self.backoff
        return offsets


@dataclass(frozen=True)
class Owed:
    """A notice a (unit, stage) is owed: its kind, occurrence and when it fell due."""

    kind: str  # "reminder" | "late" | "repeat" | "escalation"
    occurrence: int  # days before (reminder), 0 (late), k (repeat), 1 (escalation)
    at: datetime


@dataclass(frozen=True)
class Window:
    """The deadlines that owe one notice at one instant: `after < deadline <= upto`.

    Stated in terms of the deadline, not of `now`, so the SQL sweep can compare a column
    with two bound parameters (`after` None: no lower bound).
    """

    kind: str
    occurrence: int
    after: datetime | None
    upto: datetime

    def holds(self, deadline: datetime) -> bool:
        return (self.after is None or self.after < deadline) and deadline <= self.upto


def late_at(deadline: datetime, policy: Policy, level: str) -> datetime:
    """Return the instant a unit of `level` counts as late (the deadline plus its grace)."""
    return deadline + policy.grace(level)


def escalation_at(deadline: datetime, policy: Policy, level: str) -> datetime:
    """Return the instant the level above is told a unit is still late."""
    return late_at(deadline, policy, level) + policy.escalate_after_days * DAY


def notice_windows(policy: Policy, level: str, now: datetime,
                   earliest_deadline: datetime | None = None) -> list[Window]:
    """Return, as deadline ranges, which reminder, late or repeat notice each deadline owes now.

    The windows do not overlap, so a (unit, stage) owes at most one of these notices at any
    instant. `earliest_deadline` bounds how many repeat windows are needed (default: a year).
    """
    windows = []
    offsets = policy.reminders_days_before
    for i, d in enumerate(offsets):
        closer = offsets[i + 1] if i + 1 < len(offsets) else 0
        windows.append(Window("reminder", d, now + closer * DAY, now + d * DAY))
    # late (occurrence 0) and repeats k: late_at + o_k <= now < late_at + o_{k+1}
    grace = policy.grace(level)
    earliest = earliest_deadline if earliest_deadline is not None else now - 366 * DAY
    starts = [timedelta(0), *policy.repeat_offsets(now - grace - earliest)]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else None
        upto = now - grace - start
        after = now - grace - end if end is not None else None
        windows.append(Window("late" if k == 0 else "repeat", k, after, upto))
    return windows


def escalation_window(policy: Policy, level: str, now: datetime) -> Window:
    """Return the deadlines whose units are owed an escalation now (if still late)."""
    return Window("escalation", 1, None, now - policy.grace(level) - policy.escalate_after_days * DAY)


def owed_notice(deadline: datetime, policy: Policy, level: str, now: datetime) -> Owed | None:
    """Return the reminder, late or repeat notice a (unit, stage) is owed at `now`, if any."""
    for window in notice_windows(policy, level, now, earliest_deadline=deadline):
        if window.holds(deadline):
            if window.kind == "reminder":
                return Owed("reminder", window.occurrence, deadline - window.occurrence * DAY)
            start = late_at(deadline, policy, level)
            offsets = [timedelta(0), *policy.repeat_offsets(now - start)]
            return Owed(window.kind, window.occurrence, start + offsets[window.occurrence])
    return None


def escalation_owed(deadline: datetime, policy: Policy, level: str, now: datetime) -> bool:
    """Say whether the level above is owed word of this (unit, stage), if it is still late."""
    return escalation_window(policy, level, now).holds(deadline)


def milestone_instants(deadline: datetime, policy: Policy, level: str) -> list[datetime]:
    """Return the instants a deadline sets off: its reminders, lateness and escalation.

    Repeats are left to the periodic catch-up sweep, so the scheduler's jobs stay a few per
    milestone whatever the season's length.
    """
    instants = {deadline - d * DAY for d in policy.reminders_days_before}
    instants |= {late_at(deadline, policy, level), escalation_at(deadline, policy, level)}
    return sorted(instants)


def send_time(at: datetime, policy: Policy, channel: str) -> datetime:
    """Return when a message written at `at` may go out: quiet hours push it to their end."""
    quiet = policy.quiet_hours
    if quiet is None or channel in quiet.exempt_channels or quiet.start == quiet.end:
        return at
    local = at.astimezone(policy.zone)
    t = local.timetz().replace(tzinfo=None)
    day = local.date()
    if quiet.start < quiet.end:  # e.g. 12:00-13:30, inside one day
        inside = quiet.start <= t < quiet.end
    else:  # crosses midnight, e.g. 21:00-07:00
        inside = t >= quiet.start or t < quiet.end
        if t >= quiet.start:
            day += DAY
    if not inside:
        return at
    return datetime.combine(day, quiet.end, tzinfo=policy.zone).astimezone(at.tzinfo)

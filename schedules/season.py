"""The season on a virtual clock, at any scale: streamed message by message, or counted.

`simulate` runs the real sweep (`schedules.sweep.sweep`, set-based) at every instant where
something may fall due, inside one transaction the caller rolls back; its bundles are
written without their payload, which no simulation shows. After each virtual
sweep, what it wrote is the outbox rows past the highest id seen before it; those rows are
either streamed to the caller in pages (`step_rows`: the process never holds the season),
or counted by the database (`count_step`: one GROUP BY per step, no row reaches Python).
The season's totals are the sum of the steps'; the unit that would receive the most is one
more aggregate over the season's rows before the rollback (`most_messaged`).

The plan's policy is then judged (`judge`): a unit messaged more than
`MAX_MESSAGES_PER_UNIT` times on one channel, or a day with more messages than the
dispatcher delivers in the plan's sending hours (`DISPATCH_RATE_PER_S`), is a warning naming
the plan setting to change. Counts are outbox rows: bundles, one per recipient, channel and
kind of bundle a day (the outbox contract in the README); digests are the office's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from config.i18n import _
from config.plan import Plan
from schedules.sweep import sweep
from schedules.timetable import load_timetable
from workflow.models import Notification, Unit

#: a unit that would receive more than this many messages on one channel in the season is a
#: sign of a repeat policy nobody would read (issue 22)
MAX_MESSAGES_PER_UNIT = 30
#: messages per second one dispatcher delivers: benchmarks/RESULTS.md, "Email delivery:
#: 10,000 messages, 4 connections (issue 4)", the dispatcher from a PostgreSQL outbox (the
#: slower of the two databases measured)
DISPATCH_RATE_PER_S = 636
#: rows fetched at a time when a step's messages are streamed
PAGE = 2_000
N = Notification

#: run after each virtual sweep in the same transaction (the CLI writes the day's digest)
AfterSweep = Callable[[Session, datetime], Any]


@dataclass(frozen=True)
class Step:
    """One virtual sweep: when it ran, its local day, and the outbox ids it wrote (> after_id)."""

    at: datetime
    day: date
    after_id: int


@dataclass
class Tally:
    """Messages counted by kind, by level of the recipient unit, and by channel."""

    by_kind: Counter[str] = field(default_factory=Counter)
    by_level: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def add(self, other: Tally) -> None:
        self.by_kind.update(other.by_kind)
        self.by_level.update(other.by_level)
        self.by_channel.update(other.by_channel)

    def as_json(self) -> dict[str, Any]:
        return {"messages": self.total, "by_kind": dict(self.by_kind), "by_level": dict(self.by_level),
                "by_channel": dict(self.by_channel), "escalations": self.by_kind.get("escalation", 0),
                "digests": self.by_kind.get("digest", 0)}


@dataclass(frozen=True)
class MostMessaged:
    """The unit that would receive the most messages on one channel in the season."""

    unit: str
    name: str
    level: str
    channel: str
    messages: int


@dataclass(frozen=True)
class PolicyWarning:
    """A judgment of the plan's policy: the plan setting to change, and why, in Vietnamese."""

    setting: str
    message: str


@dataclass
class Season:
    """What a season of sweeps would write, counted per local day."""

    start: date
    end: date
    days: dict[date, Tally] = field(default_factory=dict)
    most_messaged: MostMessaged | None = None
    warnings: list[PolicyWarning] = field(default_factory=list)
    capacity_per_day: int = 0

    @property
    def totals(self) -> Tally:
        total = Tally()
        for tally in self.days.values():
            total.add(tally)
        return total

    @property
    def busiest_day(self) -> tuple[date, int] | None:
        counted = [(day, tally.total) for day, tally in self.days.items() if tally.total]
        return max(counted, key=lambda item: (item[1], -item[0].toordinal()), default=None)

    def as_json(self) -> dict[str, Any]:
        busiest = self.busiest_day
        return {
            "from": self.start.isoformat(), "to": self.end.isoformat(),
            "days": [{"day": day.isoformat(), **tally.as_json()}
                     for day, tally in sorted(self.days.items()) if tally.total],
            "totals": self.totals.as_json(),
            "busiest_day": {"day": busiest[0].isoformat(), "messages": busiest[1]} if busiest else None,
            "most_messaged_unit": vars(self.most_messaged) if self.most_messaged else None,
            "capacity_per_day": self.capacity_per_day,
            "max_messages_per_unit": MAX_MESSAGES_PER_UNIT,
            "warnings": [vars(w) for w in self.warnings],
        }


def season_steps(session: Session, start: datetime, end: datetime, zone: ZoneInfo,
                 daily: time | None = None) -> list[tuple[datetime, bool]]:
    """Every instant in [start, end] a step runs at, and whether the sweep runs then.

    The sweep runs at each milestone instant (reminders, deadlines, escalations) and each
    local midnight (when repeats fall due): nothing falls due between them. With `daily`,
    that local time of each day is a step too (when the digest is written), with no sweep.
    """
    table = load_timetable(session, start - timedelta(microseconds=1), limit=100_000)
    sweeps = {at for at in table.instants if start <= at <= end}
    hooks = set()
    day: date = start.astimezone(zone).date()
    while (midnight := datetime.combine(day, time(0), tzinfo=zone)) <= end:
        sweeps.add(midnight)
        if daily is not None:
            hooks.add(datetime.combine(day, daily, tzinfo=zone))
        day += timedelta(days=1)
    steps = {at: True for at in sweeps if start <= at} | \
        {at: False for at in hooks - sweeps if start <= at <= end}
    return sorted(steps.items())


def last_id(session: Session) -> int:
    return session.scalar(select(func.max(N.id))) or 0


def run_season(session: Session, start: datetime, end: datetime, channels: tuple[str, ...],
               public_url: str, zone: ZoneInfo, daily: time | None = None,
               after_sweep: AfterSweep | None = None) -> Iterator[Step]:
    """Sweep at every step from `start` to `end`, as if nobody acted meanwhile; yield each step.

    The consumer reads a step's rows (`step_rows`, `count_step`) before asking for the next.
    The caller rolls the transaction back afterwards.
    """
    for at, sweeps in season_steps(session, start, end, zone, daily):
        after = last_id(session)
        if sweeps:
            sweep(session, at, channels, public_url, payloads=False)  # rows counted or listed, never read
        if after_sweep is not None:
            after_sweep(session, at)
        yield Step(at, at.astimezone(zone).date(), after)


def _written(after_id: int, unit_id: int | None = None) -> Any:
    """The rows written after `after_id`; with `unit_id`, only those to that unit (no digest:
    the office receives it, not the root unit's secretary)."""
    where = N.id > after_id
    if unit_id is not None:
        where = and_(where, N.unit_id == unit_id, N.kind != "digest")
    return where


def step_rows(session: Session, step: Step, unit_id: int | None = None) -> Iterator[dict[str, Any]]:
    """The messages a step wrote, in sending order, fetched `PAGE` rows at a time."""
    query = (select(N.next_attempt_at.label("at"), N.kind, Unit.code.label("unit"), N.stage,
                    N.recipient, N.channel)
             .outerjoin(Unit, Unit.id == N.unit_id).where(_written(step.after_id, unit_id))
             .order_by(N.next_attempt_at, N.id).execution_options(yield_per=PAGE))
    for row in session.execute(query).mappings():
        yield dict(row)


def count_step(session: Session, step: Step) -> Tally:
    """What a step wrote, counted by the database (kind × level of the recipient × channel)."""
    tally = Tally()
    query = (select(N.kind, Unit.level, N.channel, func.count())
             .outerjoin(Unit, Unit.id == N.unit_id).where(_written(step.after_id))
             .group_by(N.kind, Unit.level, N.channel))
    for kind, level, channel, count in session.execute(query):
        tally.by_kind[kind] += count
        tally.by_channel[channel] += count
        if kind != "digest":  # the office's: no unit of the tree receives it
            tally.by_level[level] += count
    return tally


def most_messaged(session: Session, after_id: int) -> MostMessaged | None:
    """The unit that the season's rows (ids past `after_id`) message most often on one channel."""
    per = (select(N.unit_id, N.channel, func.count().label("n")).where(_written(after_id), N.kind != "digest")
           .group_by(N.unit_id, N.channel).subquery())
    row = session.execute(select(Unit.code, Unit.name, Unit.level, per.c.channel, per.c.n)
                          .join(per, per.c.unit_id == Unit.id)
                          .order_by(per.c.n.desc(), Unit.code).limit(1)).first()
    return MostMessaged(*row) if row else None


def sending_hours(plan: Plan) -> float:
    """Hours a day the plan lets messages go out: the day outside its quiet hours."""
    quiet = plan.quiet_hours
    if quiet is None or quiet.start == quiet.end:
        return 24.0
    start = quiet.start.hour * 60 + quiet.start.minute
    end = quiet.end.hour * 60 + quiet.end.minute
    return 24.0 - ((end - start) % (24 * 60)) / 60


def capacity_per_day(plan: Plan, rate: float = DISPATCH_RATE_PER_S) -> int:
    return int(rate * sending_hours(plan) * 3600)


def judge(season: Season, plan: Plan, rate: float = DISPATCH_RATE_PER_S,
          threshold: int = MAX_MESSAGES_PER_UNIT) -> list[PolicyWarning]:
    """Warnings about the plan's policy, in the CLI's language, each naming the setting to change."""
    late = plan.late
    unlimited = _("unlimited")
    now_set = _("now `max_repeats` = {max_repeats}, `repeat_every_days` = {every}, `backoff` = {backoff}").format(
        max_repeats=late.max_repeats if late.max_repeats is not None else unlimited,
        every=late.repeat_every_days, backoff=f"{late.backoff:g}")
    warnings = []
    top = season.most_messaged
    if top is not None and top.messages > threshold:
        warnings.append(PolicyWarning("max_repeats", _(
            "Unit {unit} ({name}) would receive {count} messages on the {channel} channel over the season, "
            "above the threshold of {threshold}: the repeat policy is too dense. In the plan's `late` section, "
            "set `max_repeats`, or raise `repeat_every_days` or `backoff` ({now_set}).").format(
            unit=top.unit, name=top.name, count=top.messages, channel=top.channel, threshold=threshold,
            now_set=now_set)))
    busiest = season.busiest_day
    capacity = capacity_per_day(plan, rate)
    if busiest is not None and busiest[1] > capacity:
        warnings.append(PolicyWarning("repeat_every_days", _(
            "On {day} there are {count} messages, more than can be sent in the {hours} sending hours of a day "
            "({capacity} messages at {rate} per second): in the plan's `late` section, raise "
            "`repeat_every_days` or `backoff`, or set `max_repeats` ({now_set}).").format(
            day=f"{busiest[0]:%d/%m/%Y}", count=busiest[1], hours=f"{sending_hours(plan):g}", capacity=capacity,
            rate=f"{rate:g}", now_set=now_set)))
    return warnings


def count_season(session: Session, steps: Iterator[Step], start: date, end: date, plan: Plan) -> Season:
    """Count every step's rows as it runs, then the season's most messaged unit; judge the plan."""
    season = Season(start, end, capacity_per_day=capacity_per_day(plan))
    first: int | None = None
    for step in steps:
        first = step.after_id if first is None else first
        season.days.setdefault(step.day, Tally()).add(count_step(session, step))
    season.most_messaged = most_messaged(session, first) if first is not None else None
    season.warnings = judge(season, plan)
    return season

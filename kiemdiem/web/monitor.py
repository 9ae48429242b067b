"""What the monitor's pages show, read set-based from the core tables.

Every query is scoped to a subtree (`Unit.path` prefix of the viewer's unit) and answers
with one statement per figure, never one per unit, so the overview stays fast on a national
tree of 300,000 cycles. Nothing here reads members' results: the monitor shows progress only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from workflow.models import (
    AuditEntry,
    Campaign,
    Cycle,
    DeadlineExtension,
    Milestone,
    Notification,
    Unit,
)
from workflow.queries import days_late, owed_deadlines
from workflow.service import effective_deadlines
from workflow.stages import BIT, RANK, STAGES, stages_of

#: Late (unit, stage) pairs are counted in these bands of whole days late: [0, 3), [3, 7), [7, ∞)
LATE_BANDS = (3, 7)
LIST_LIMIT = 500
LOCAL_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh has had no daylight saving since 1975


def _under(path: str) -> ColumnElement[bool]:
    return Unit.path.like(path + "%")


def _due() -> ColumnElement[datetime]:
    return func.coalesce(DeadlineExtension.due_at, Milestone.due_at)


# --- overview -------------------------------------------------------------------------------

@dataclass
class Overview:
    """The overview's figures for one subtree (and optionally one level)."""

    counts: dict[tuple[str, str], int]            # (level, state) -> cycles
    levels: list[str]
    late: dict[tuple[str, str], list[int]]        # (level, stage) -> count per LATE_BANDS band
    late_units: int
    total: int

    def level_total(self, level: str) -> int:
        return sum(n for (lv, _), n in self.counts.items() if lv == level)


def overview(session: Session, campaign: Campaign, path: str, now: datetime,
             levels_order: tuple[str, ...]) -> Overview:
    """Count cycles per level × state, and late (unit, stage) pairs per level × stage × band."""
    counts = {(r.level, r.state): r.n for r in session.execute(
        select(Unit.level, Cycle.state, func.count().label("n"))
        .select_from(Cycle).join(Unit, Unit.id == Cycle.unit_id)
        .where(Cycle.campaign_id == campaign.id, _under(path))
        .group_by(Unit.level, Cycle.state))}
    owed = owed_deadlines(campaign).where(_due() <= now, _under(path)).subquery()
    bands = [func.sum(case((owed.c.due_at > now - timedelta(days=d), 1), else_=0))
             for d in LATE_BANDS]
    late: dict[tuple[str, str], list[int]] = {}
    for row in session.execute(
            select(Unit.level, owed.c.stage, func.count(), *bands)
            .select_from(owed).join(Unit, Unit.id == owed.c.unit_id)
            .group_by(Unit.level, owed.c.stage)):
        level, stage, n, *within = row
        cumulative = [int(w or 0) for w in within]
        late[(level, stage)] = [cumulative[0], cumulative[1] - cumulative[0], n - cumulative[1]]
    late_units = session.scalar(select(func.count(func.distinct(owed.c.cycle_id))).select_from(owed)) or 0
    present = {level for level, _ in counts}
    levels = [lv for lv in levels_order if lv in present] + sorted(present - set(levels_order))
    return Overview(counts, levels, late, late_units, sum(counts.values()))


# --- progress chart -------------------------------------------------------------------------

@dataclass
class Progress:
    """For each stage with a deadline: how many cycles owe it and how many had reached it by day."""

    stages: list[str]
    totals: dict[str, int]
    reached_by_day: dict[str, list[tuple[date, int]]]   # cumulative, ascending by day
    markers: list[tuple[str, str, datetime]]             # (level, stage, due_at)
    start: date
    end: date


def _reached_at(dialect: str) -> ColumnElement[Any]:
    """When an audit entry's stage was really reached: `--at` (kept in details) or the entry time.

    Normalised so that `min` compares instants, not strings, on SQLite.
    """
    told = AuditEntry.details["reached_at"].as_string()
    if dialect == "postgresql":
        return func.coalesce(cast(told, DateTime(timezone=True)), AuditEntry.at)
    return func.datetime(func.coalesce(told, AuditEntry.at))


def _local_day(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.date(func.timezone("Asia/Ho_Chi_Minh", column))
    return func.date(column, "+7 hours")


def progress(session: Session, campaign: Campaign, path: str, now: datetime,
             level: str | None = None) -> Progress:
    """Build the chart's data: per stage with a deadline, cycles that reached it, by local day.

    A cycle has reached a stage once an audit entry took it to that stage or a later one;
    reopening later does not undo the date it first got there.
    """
    dialect = session.get_bind().dialect.name
    ms = session.execute(select(Milestone.level, Milestone.stage, Milestone.due_at)
                         .where(Milestone.campaign_id == campaign.id)
                         .order_by(Milestone.due_at)).all()
    if level:
        ms = [m for m in ms if m.level == level]
    stages = [s for s in STAGES if any(m.stage == s for m in ms)]
    scope = [Cycle.campaign_id == campaign.id, _under(path)] + ([Unit.level == level] if level else [])

    totals_row = session.execute(
        select(*[func.sum(case((Cycle.stages_mask.op("&")(BIT[s]) != 0, 1), else_=0)) for s in stages]
               or [literal(0)])
        .select_from(Cycle).join(Unit, Unit.id == Cycle.unit_id).where(*scope)).one()
    totals = {s: int(v or 0) for s, v in zip(stages, totals_row, strict=False)}

    reached_by_day: dict[str, list[tuple[date, int]]] = {s: [] for s in stages}
    if stages:
        rank = case({s: RANK[s] for s in STAGES}, value=AuditEntry.to_state)
        when = _reached_at(dialect)
        per_cycle = (
            select(Cycle.stages_mask.label("mask"),
                   *[func.min(case((rank >= RANK[s], when))).label(s) for s in stages])
            .select_from(Cycle).join(Unit, Unit.id == Cycle.unit_id)
            .join(AuditEntry, AuditEntry.cycle_id == Cycle.id)
            .where(*scope, AuditEntry.to_state.is_not(None))
            .group_by(Cycle.id, Cycle.stages_mask)
        ).cte("per_cycle")
        parts = [
            select(literal_column(f"'{s}'").label("stage"), _local_day(per_cycle.c[s], dialect).label("day"),
                   func.count().label("n"))
            .where(per_cycle.c[s].is_not(None), per_cycle.c.mask.op("&")(BIT[s]) != 0)
            .group_by(literal_column("2"))
            for s in stages
        ]
        daily: dict[str, dict[date, int]] = defaultdict(dict)
        for row in session.execute(union_all(*parts)):
            daily[row.stage][_as_date(row.day)] = row.n
        for s in stages:
            running = 0
            for day in sorted(daily[s]):
                running += daily[s][day]
                reached_by_day[s].append((day, running))

    markers = [(m.level, m.stage, m.due_at) for m in ms]
    days = [d for series in reached_by_day.values() for d, _ in series]
    days += [local_day(m.due_at) for m in ms] + [local_day(campaign.created_at), local_day(now)]
    return Progress(stages, totals, reached_by_day, markers, min(days), max(days))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def local_day(instant: datetime) -> date:
    """The calendar day in Vietnam of an instant."""
    return (instant.astimezone(UTC) + LOCAL_OFFSET).date()


# --- late list ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LateFilter:
    level: str | None = None
    stage: str | None = None
    min_days: int = 0
    ascending: bool = False   # False: most late first


LATE_COLUMNS = ("unit", "name", "level", "stage", "deadline", "days_late", "secretary", "phone",
                "email")


def _late_query(campaign: Campaign, path: str, now: datetime, f: LateFilter) -> Select[Any]:
    query = owed_deadlines(campaign).where(_due() <= now - timedelta(days=f.min_days), _under(path))
    if f.level:
        query = query.where(Unit.level == f.level)
    if f.stage:
        query = query.where(Milestone.stage == f.stage)
    return query


def late_count(session: Session, campaign: Campaign, path: str, now: datetime, f: LateFilter) -> int:
    sub = _late_query(campaign, path, now, f).subquery()
    return session.scalar(select(func.count()).select_from(sub)) or 0


def late_rows(session: Session, campaign: Campaign, path: str, now: datetime, f: LateFilter,
              limit: int | None = LIST_LIMIT) -> list[dict[str, Any]]:
    """One row per late (unit, stage) with the secretary's contact, sorted by days late."""
    order = _due().desc() if f.ascending else _due().asc()
    query = (_late_query(campaign, path, now, f)
             .add_columns(Unit.code, Unit.name, Unit.level, Unit.secretary, Unit.phone, Unit.email)
             .order_by(order, Unit.code, Milestone.stage_rank))
    if limit is not None:
        query = query.limit(limit)
    return [{"unit": r.code, "name": r.name, "level": r.level, "stage": r.stage,
             "deadline": r.due_at, "days_late": days_late(r.due_at, now),
             "secretary": r.secretary, "phone": r.phone, "email": r.email}
            for r in session.execute(query)]


# --- one unit -------------------------------------------------------------------------------

@dataclass
class Step:
    """One stage of a unit's timeline."""

    stage: str
    due_at: datetime | None
    extended: str | None       # the extension's reason, when the deadline is the unit's own
    reached_at: datetime | None
    days_late: int | None      # late by this many days (reached late, or still owed and past due)


@dataclass
class UnitPage:
    unit: Unit
    cycle: Cycle | None
    ancestors: list[Unit]
    children: list[dict[str, Any]]
    timeline: list[Step] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def find_visible_unit(session: Session, code: str, path: str) -> Unit | None:
    """Return the unit with `code` if the viewer's subtree holds it, else None (as if absent)."""
    return session.scalar(select(Unit).where(Unit.code == code, _under(path)))


def unit_page(session: Session, campaign: Campaign, unit: Unit, viewer_path: str,
              now: datetime, limit: int = 200) -> UnitPage:
    """Gather a unit's timeline, audit trail, notifications, children and visible ancestors."""
    ids = [int(p) for p in unit.path.strip("/").split("/")[:-1]]
    ancestors = list(session.scalars(
        select(Unit).where(Unit.id.in_(ids), _under(viewer_path)).order_by(Unit.depth))) if ids else []
    child_rows = session.execute(
        select(Unit.code, Unit.name, Unit.level, Cycle.state)
        .outerjoin(Cycle, and_(Cycle.unit_id == Unit.id, Cycle.campaign_id == campaign.id))
        .where(Unit.parent_id == unit.id).order_by(Unit.code))
    page = UnitPage(unit, None, ancestors, [dict(r._mapping) for r in child_rows])
    page.audit = list(session.scalars(select(AuditEntry).where(AuditEntry.unit_id == unit.id)
                                      .order_by(AuditEntry.id.desc()).limit(limit)))
    page.notifications = list(session.scalars(
        select(Notification).where(Notification.unit_id == unit.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))
    cycle = session.scalar(select(Cycle).where(Cycle.campaign_id == campaign.id,
                                               Cycle.unit_id == unit.id))
    if cycle is None:
        return page
    page.cycle = cycle
    page.timeline = _timeline(session, cycle, unit, now)
    return page


def _timeline(session: Session, cycle: Cycle, unit: Unit, now: datetime) -> list[Step]:
    deadlines = effective_deadlines(session, cycle, unit)
    extended = dict(session.execute(select(DeadlineExtension.stage, DeadlineExtension.reason)
                                    .where(DeadlineExtension.cycle_id == cycle.id)).all())
    entries = session.scalars(select(AuditEntry).where(AuditEntry.cycle_id == cycle.id,
                                                       AuditEntry.to_state.is_not(None))
                              .order_by(AuditEntry.id)).all()
    steps = []
    for stage in stages_of(cycle.stages_mask)[1:]:
        reached = min((_entry_reached_at(e) for e in entries
                       if e.to_state in RANK and RANK[e.to_state] >= RANK[stage]), default=None)
        due = deadlines.get(stage, (None, ""))[0]
        late = None
        if due is not None:
            finish = reached if reached is not None else now
            late = days_late(due, finish) if finish > due else None
        steps.append(Step(stage, due, extended.get(stage), reached, late))
    return steps


def _entry_reached_at(entry: AuditEntry) -> datetime:
    told = (entry.details or {}).get("reached_at")
    if told:
        parsed = datetime.fromisoformat(told)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return entry.at


# --- plan -----------------------------------------------------------------------------------

def milestones(session: Session, campaign: Campaign) -> list[Milestone]:
    return list(session.scalars(select(Milestone).where(Milestone.campaign_id == campaign.id)
                                .order_by(Milestone.stage_rank, Milestone.due_at)))

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
    ColumnExpressionArgument,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from workflow.audit import stage_reached_at
from workflow.clock import days_late
from workflow.extensions import effective_deadlines
from workflow.models import (
    AuditEntry,
    Campaign,
    Cycle,
    DeadlineExtension,
    Milestone,
    Notification,
    Unit,
)
from workflow.notices import Due
from workflow.queries import deadline_book, owed_deadlines, owed_due
from workflow.sqlrender import Dialect
from workflow.stages import RANK, STAGES, owes, stages_of

#: Late (unit, stage) pairs are counted in these bands of whole days late: [0, 3), [3, 7), [7, ∞)
LATE_BANDS = (3, 7)
LIST_LIMIT = 500
LOCAL_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh has had no daylight saving since 1975


def _under(path: str) -> ColumnElement[bool]:
    return Unit.path.like(path + "%")


# --- overview -------------------------------------------------------------------------------

@dataclass
class Overview:
    """The overview's figures for one subtree."""

    counts: dict[tuple[str, str], int]            # (level, state) -> cycles
    owing: dict[tuple[str, str], int]             # (level, stage) -> cycles whose flow has it
    levels: list[str]
    late: dict[tuple[str, str], list[int]]        # (level, stage) -> count per LATE_BANDS band
    late_units: int
    total: int

    def level_total(self, level: str) -> int:
        return sum(n for (lv, _), n in self.counts.items() if lv == level)


def _band(due: datetime, now: datetime) -> int:
    late_days = days_late(due, now) or 0  # `_owed_by` yields stages past due only
    return sum(1 for limit in LATE_BANDS if late_days >= limit)


def _owed_by(state: str, mask: int, deadlines: dict[str, datetime], cutoff: datetime
             ) -> list[tuple[str, datetime]]:
    """The stages a cycle owes that were due by `cutoff`, with their deadlines (`owed_deadlines`)."""
    return [(stage, due) for stage, due in deadlines.items()
            if owes(state, mask, stage) and due <= cutoff]


def _late_stages(state: str, mask: int, deadlines: dict[str, datetime], now: datetime
                 ) -> list[tuple[str, int]]:
    """The stages a cycle owes past their deadline, with the band of each."""
    return [(stage, _band(due, now)) for stage, due in _owed_by(state, mask, deadlines, now)]


#: how far below the newest audit entry a late commit is still noticed (see `data_version`)
LATE_COMMIT_WINDOW = 10_000


def data_version(session: Session) -> tuple[int, int]:
    """What the committed audit log holds: its newest id and how many entries lie within
    `LATE_COMMIT_WINDOW` ids of it.

    Every change to cycles, deadlines or units appends an entry in the same transaction, and
    the log is append-only, so figures read at one version stay exact until it changes. The
    newest id alone is not enough on PostgreSQL: a transaction that took its ids first may
    commit after one that took later ids, adding entries below the newest; the count of the
    recent entries (an index range scan) sees them.
    """
    newest, recent = session.execute(_DATA_VERSION).one()
    return newest or 0, recent or 0


_NEWEST = select(func.coalesce(func.max(AuditEntry.id), 0).label("newest")).subquery()
_DATA_VERSION = select(_NEWEST.c.newest, select(func.count()).select_from(AuditEntry)
                       .where(AuditEntry.id > _NEWEST.c.newest - LATE_COMMIT_WINDOW).scalar_subquery())


def covers_everything(session: Session, path: str) -> bool:
    """Say whether the subtree at `path` is the whole tree (a single root), so no filter is needed."""
    if path.count("/") != 2:
        return False
    return session.scalar(select(func.count()).select_from(Unit).where(Unit.parent_id.is_(None))) == 1


@dataclass(frozen=True)
class Scan:
    """One subtree's cycles grouped by (level, active, state, flow), and its own deadlines.

    A few dozen groups whatever the size of the tree; everything on the overview that depends
    on "now" is computed from them in Python, so a cached scan stays exact as time passes.
    """

    deadlines: dict[str, dict[str, datetime]]               # level -> stage -> milestone
    groups: list[tuple[str, bool, str, int, int]]           # level, active, state, mask, n
    extended: list[tuple[str, str, int, dict[str, datetime]]]  # level, state, mask, own deadlines


def scan(session: Session, campaign: Campaign, path: str, bulk_level: str | None = None) -> Scan:
    """Read what the overview needs in one pass over the subtree's cycles (plus extensions).

    `bulk_level` names the level most units have (the hierarchy's lowest). Over the whole
    tree only the units outside that level's active ones are joined to the cycles, and a
    cycle left without a match is counted as one of them: the same figures, but the join
    hashes a few thousand units instead of every one.
    """
    deadlines: dict[str, dict[str, datetime]] = defaultdict(dict)
    for m in session.execute(select(Milestone.level, Milestone.stage, Milestone.due_at)
                             .where(Milestone.campaign_id == campaign.id)):
        deadlines[m.level][m.stage] = m.due_at
    scope = [Cycle.campaign_id == campaign.id]
    everything = covers_everything(session, path)
    if not everything:
        scope.append(_under(path))
    level: ColumnExpressionArgument[str]
    active: ColumnExpressionArgument[bool]
    if everything and bulk_level:
        level, active = func.coalesce(Unit.level, bulk_level), func.coalesce(Unit.active, true())
        joined = select().select_from(Cycle).outerjoin(Unit, and_(
            Unit.id == Cycle.unit_id, ~and_(Unit.level == bulk_level, Unit.active.is_(True))))
    else:
        level, active = Unit.level, Unit.active
        joined = select().select_from(Cycle).join(Unit, Unit.id == Cycle.unit_id)
    groups = [tuple(row) for row in session.execute(
        joined.add_columns(level, active, Cycle.state, Cycle.stages_mask, func.count()).where(*scope)
        .group_by(*(literal_column(str(i)) for i in range(1, 5))))]
    extended: dict[int, tuple[str, str, int, dict[str, datetime]]] = {}
    for cycle_id, unit_level, state, mask, stage, due in session.execute(
            select(Cycle.id, Unit.level, Cycle.state, Cycle.stages_mask, DeadlineExtension.stage,
                   DeadlineExtension.due_at)
            .select_from(DeadlineExtension).join(Cycle, Cycle.id == DeadlineExtension.cycle_id)
            .join(Unit, Unit.id == Cycle.unit_id).where(*scope, Unit.active.is_(True))):
        own = extended.setdefault(cycle_id, (unit_level, state, mask, dict(deadlines[unit_level])))[3]
        if stage in own:
            own[stage] = due
    return Scan(dict(deadlines), groups, list(extended.values()))


def overview(data: Scan, now: datetime, levels_order: tuple[str, ...]) -> Overview:
    """Count cycles per level × state, and late (unit, stage) pairs per level × stage × band.

    Lateness follows from a group's state, flow and its level's milestones; the few cycles
    with a deadline of their own are then taken out and counted again with it. The result
    counts exactly what `workflow.queries.owed_deadlines` lists.
    """
    counts: dict[tuple[str, str], int] = defaultdict(int)
    owing: dict[tuple[str, str], int] = defaultdict(int)
    late: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (len(LATE_BANDS) + 1))
    late_units = 0

    def tally(level: str, state: str, mask: int, due: dict[str, datetime], n: int) -> int:
        stages = _late_stages(state, mask, due, now)
        for stage, band in stages:
            late[(level, stage)][band] += n
        return n if stages else 0

    for level, active, state, mask, n in data.groups:
        counts[(level, state)] += n
        for stage in stages_of(mask):
            owing[(level, stage)] += n
        if active:
            late_units += tally(level, state, mask, data.deadlines.get(level, {}), n)
    for level, state, mask, own in data.extended:
        # take the cycle out as its level's deadlines counted it, put it back with its own
        late_units += (tally(level, state, mask, data.deadlines.get(level, {}), -1)
                       + tally(level, state, mask, own, 1))
    late = {key: bands for key, bands in late.items() if sum(bands)}
    present = {level for level, _ in counts}
    levels = [lv for lv in levels_order if lv in present] + sorted(present - set(levels_order))
    return Overview(dict(counts), dict(owing), levels, late, late_units, sum(counts.values()))


# --- progress chart -------------------------------------------------------------------------

@dataclass
class Progress:
    """For each stage with a deadline: how many cycles had reached it, cumulatively by day."""

    stages: list[str]
    reached_by_day: dict[str, list[tuple[date, int]]]   # cumulative, ascending by day
    markers: list[tuple[str, str, Due]]                  # (level, stage, deadline)
    start: date
    end: date


def reached_days(session: Session, campaign: Campaign, path: str, level: str | None = None
                 ) -> dict[str, dict[date, int]]:
    """Count, per stage and local day, the cycles of the subtree that reached the stage.

    A cycle reaches a stage when an `advance` lands on it (a forced jump over a stage does
    not count as doing it). Landings after the cycle's first reopen are left out: the cycle
    had already got there once, and the chart shows when units first did each stage.
    """
    reopened = aliased(AuditEntry)
    day = Dialect.of(session).local_day(AuditEntry.reached_at)
    query = (
        select(AuditEntry.to_state, day.label("day"), func.count().label("n"))
        .where(AuditEntry.campaign_id == campaign.id, AuditEntry.action == "cycle.advance",
               AuditEntry.to_state.is_not(None),
               # inline, so the planner may use the partial index `ix_audit_reopen`
               ~exists().where(reopened.cycle_id == AuditEntry.cycle_id,
                               reopened.action == literal_column("'cycle.reopen'"),
                               reopened.id < AuditEntry.id))
        .group_by(AuditEntry.to_state, literal_column("2"))
    )
    if level or not covers_everything(session, path):
        query = query.join(Unit, Unit.id == AuditEntry.unit_id).where(_under(path))
        if level:
            query = query.where(Unit.level == level)
    daily: dict[str, dict[date, int]] = defaultdict(dict)
    for row in session.execute(query):
        daily[row.to_state][_as_date(row.day)] = row.n
    return dict(daily)


def progress(session: Session, campaign: Campaign, daily: dict[str, dict[date, int]],
             now: datetime, level: str | None = None) -> Progress:
    """Turn daily counts into cumulative series for the stages with a deadline, with markers."""
    ms = session.execute(select(Milestone.level, Milestone.stage, Milestone.due_at, Milestone.rule,
                                Milestone.plan_date)
                         .where(Milestone.campaign_id == campaign.id)
                         .order_by(Milestone.due_at)).all()
    if level:
        ms = [m for m in ms if m.level == level]
    stages = [s for s in STAGES if any(m.stage == s for m in ms)]
    reached_by_day: dict[str, list[tuple[date, int]]] = {s: [] for s in stages}
    for s in stages:
        running = 0
        for d in sorted(daily.get(s, {})):
            running += daily[s][d]
            reached_by_day[s].append((d, running))
    markers = [(m.level, m.stage, Due(m.due_at, m.rule, m.plan_date)) for m in ms]
    days = [d for series in reached_by_day.values() for d, _ in series]
    days += [local_day(m.due_at) for m in ms] + [local_day(campaign.created_at), local_day(now)]
    return Progress(stages, reached_by_day, markers, min(days), max(days))


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
    q: str = ""               # part of a unit's code or name
    by: str = "days"          # one of LATE_ORDERS


#: what the late list may be sorted by: its columns (`days` and `deadline` are the same order)
LATE_ORDERS = ("days", "unit", "name", "level", "stage")


def _late_query(campaign: Campaign, path: str, now: datetime, f: LateFilter) -> Select[Any]:
    query = owed_deadlines(campaign).where(owed_due() <= now - timedelta(days=f.min_days), _under(path))
    if f.level:
        query = query.where(Unit.level == f.level)
    if f.stage:
        query = query.where(Milestone.stage == f.stage)
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Unit.code.ilike(pattern, escape="\\") | Unit.name.ilike(pattern, escape="\\"))
    return query


def late_total(session: Session, campaign: Campaign, path: str, now: datetime, f: LateFilter,
               data: Scan) -> int:
    """The late list's row count: from the scan, or counted in SQL when a search narrows it."""
    if not f.q:
        return late_count(data, now, f)
    return session.scalar(select(func.count()).select_from(_late_query(campaign, path, now, f).subquery())) or 0


def late_count(data: Scan, now: datetime, f: LateFilter) -> int:
    """How many rows the late list has in all, counted from the overview's scan (often cached)
    rather than by a second pass over the subtree's cycles; equal to counting `late_rows`."""
    cutoff = now - timedelta(days=f.min_days)

    def owed(level: str, state: str, mask: int, deadlines: dict[str, datetime]) -> int:
        if f.level not in (None, level):
            return 0
        return sum(1 for stage, _ in _owed_by(state, mask, deadlines, cutoff) if f.stage in (None, stage))

    total = sum(n * owed(level, state, mask, data.deadlines.get(level, {}))
                for level, active, state, mask, n in data.groups if active)
    return total + sum(owed(level, state, mask, own) - owed(level, state, mask, data.deadlines.get(level, {}))
                       for level, state, mask, own in data.extended)


def late_rows(session: Session, campaign: Campaign, path: str, now: datetime, f: LateFilter,
              limit: int | None = LIST_LIMIT) -> list[dict[str, Any]]:
    """One row per late (unit, stage) with the secretary's contact, sorted by days late."""
    column: Any = {"unit": Unit.code, "name": Unit.name, "level": Unit.level,
                   "stage": Milestone.stage_rank}.get(f.by)
    if column is None:  # by days late: the earliest deadline first
        order = owed_due().desc() if f.ascending else owed_due().asc()
    else:
        order = column.asc() if f.ascending else column.desc()
    query = (_late_query(campaign, path, now, f)
             .add_columns(Unit.code, Unit.name, Unit.level, Unit.secretary, Unit.phone, Unit.email)
             .order_by(order, owed_due().asc(), Unit.code, Milestone.stage_rank))
    if limit is not None:
        query = query.limit(limit)
    book = deadline_book(session, campaign)
    return [{"unit": r.code, "name": r.name, "level": r.level, "stage": r.stage,
             "deadline": book.due(r.level, r.stage, r.due_at), "days_late": days_late(r.due_at, now),
             "secretary": r.secretary, "phone": r.phone, "email": r.email}
            for r in session.execute(query)]


def by_unit(rows: list[dict[str, Any]], f: LateFilter) -> list[dict[str, Any]]:
    """The late rows grouped one per unit (its late stages inside, in stage order), in the
    order the rows came; by days late, ordered by each unit's worst delay."""
    units: dict[str, dict[str, Any]] = {}
    for r in rows:
        unit = units.setdefault(r["unit"], {**r, "stages": [], "worst": 0})
        unit["stages"].append({"stage": r["stage"], "deadline": r["deadline"], "days_late": r["days_late"]})
        unit["worst"] = max(unit["worst"], r["days_late"])
    for unit in units.values():
        unit["stages"].sort(key=lambda s: RANK[s["stage"]])
    grouped = list(units.values())
    if f.by == "days":
        grouped.sort(key=lambda u: u["worst"], reverse=not f.ascending)
    return grouped


# --- one unit -------------------------------------------------------------------------------

@dataclass
class Step:
    """One stage of a unit's timeline."""

    stage: str
    due_at: Due | None
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


def visible_campaign(session: Session, year: int | None, path: str) -> Campaign | None:
    """The campaign of `year` (else the latest) that a viewer of subtree `path` may see: one
    for the whole tree, or rooted above the viewer, or inside their subtree."""
    params: dict[str, object] = {"path": path, "below": path + "%"}
    if year is None:
        return session.scalars(_VISIBLE_LATEST, params).first()
    return session.scalars(_VISIBLE_OF_YEAR, {**params, "year": year}).first()


_ROOT = aliased(Unit)
_VISIBLE = (select(Campaign).outerjoin(_ROOT, _ROOT.id == Campaign.root_unit_id)
            .where(Campaign.root_unit_id.is_(None)
                   | (func.substr(bindparam("path", type_=String), 1, func.length(_ROOT.path)) == _ROOT.path)
                   | _ROOT.path.like(bindparam("below", type_=String))))
#: built once: an aliased entity and its adapted columns cost more to build than the query takes
_VISIBLE_LATEST = _VISIBLE.order_by(Campaign.year.desc()).limit(1)
_VISIBLE_OF_YEAR = _VISIBLE.where(Campaign.year == bindparam("year")).limit(1)


def find_visible_unit(session: Session, code: str, path: str) -> Unit | None:
    """Return the unit with `code` if the viewer's subtree holds it, else None (as if absent)."""
    return session.scalar(select(Unit).where(Unit.code == code, _under(path)))


def unit_page(session: Session, campaign: Campaign, unit: Unit, viewer_path: str,
              now: datetime, limit: int = 200) -> UnitPage:
    """Gather a unit's timeline, audit trail, notifications, children and visible ancestors."""
    ids = unit.ancestor_ids
    ancestors = list(session.scalars(
        select(Unit).where(Unit.id.in_(ids), _under(viewer_path)).order_by(Unit.depth))) if ids else []
    child_rows = session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.level, Cycle.state)
        .outerjoin(Cycle, and_(Cycle.unit_id == Unit.id, Cycle.campaign_id == campaign.id))
        .where(Unit.parent_id == unit.id).order_by(Unit.code))
    behind = _late_by_child(session, campaign, unit, now)
    children = [{**r._mapping, "late_units": behind.get(r.id, (0, None))[0],
                 "worst_days": behind.get(r.id, (0, None))[1]} for r in child_rows]
    page = UnitPage(unit, None, ancestors, children)
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


def _late_by_child(session: Session, campaign: Campaign, unit: Unit, now: datetime
                   ) -> dict[int, tuple[int, int]]:
    """For each child of `unit` (by id): how many units of its subtree owe a stage past due, and
    the worst delay in days — one grouped query, the child read off each late unit's path."""
    late = _late_query(campaign, unit.path, now, LateFilter()).where(Unit.id != unit.id).subquery()
    below = aliased(Unit)
    rest = func.substr(below.path, len(unit.path) + 1)  # "<child id>/…/"
    slash = Dialect.of(session).position(rest, "/")
    child = func.substr(rest, 1, slash - 1)
    rows = session.execute(select(child, func.count(func.distinct(late.c.unit_id)), func.min(late.c.due_at))
                           .join_from(late, below, below.id == late.c.unit_id).group_by(child))
    return {int(c): (n, days_late(due, now) or 0) for c, n, due in rows}  # late units only: due <= now


def _timeline(session: Session, cycle: Cycle, unit: Unit, now: datetime) -> list[Step]:
    deadlines = effective_deadlines(session, cycle, unit)
    extended = dict(session.execute(select(DeadlineExtension.stage, DeadlineExtension.reason)
                                    .where(DeadlineExtension.cycle_id == cycle.id)).all())
    entries = session.scalars(select(AuditEntry).where(AuditEntry.cycle_id == cycle.id,
                                                       AuditEntry.to_state.is_not(None))
                              .order_by(AuditEntry.id)).all()
    steps = []
    for stage in stages_of(cycle.stages_mask)[1:]:
        reached = stage_reached_at(entries, stage)
        shown = deadlines.get(stage)
        late = None
        if shown is not None:
            finish = reached if reached is not None else now
            late = days_late(shown.at, finish) if finish > shown.at else None
        steps.append(Step(stage, shown, extended.get(stage), reached, late))
    return steps


# --- plan -----------------------------------------------------------------------------------

def milestones(session: Session, campaign: Campaign) -> list[Milestone]:
    return list(session.scalars(select(Milestone).where(Milestone.campaign_id == campaign.id)
                                .order_by(Milestone.stage_rank, Milestone.due_at)))

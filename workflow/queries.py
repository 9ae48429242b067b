"""Read-side queries: status, overdue, tree and audit rows, set-based for 300,000 cycles.

A cycle's deadline for a stage is its extension if it has one, else its level's milestone;
a stage counts only if it is in the cycle's flow (`stages_mask`) and not yet reached
(`stage_rank`). One statement computes that for every cycle under a unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    and_,
    exists,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from workflow.audit import reason_of
from workflow.clock import days_late
from workflow.models import AuditEntry, Campaign, Cycle, DeadlineExtension, Milestone, Unit
from workflow.notices import DeadlineBook, Due
from workflow.sqlrender import Dialect
from workflow.stages import next_stage

MS = Milestone.__table__
EX = DeadlineExtension.__table__


#: PostgreSQL's memory for one listing's sort (`overdue --json` of the whole country: ~100 MB)
LISTING_WORK_MEM = "256MB"
#: late units listed in one escalation or digest (all are counted; the link shows them all)
LISTED_LATE_UNITS = 200


def deadline_book(session: Session, campaign: Campaign) -> DeadlineBook:
    """The campaign's milestones as a `DeadlineBook` (a few dozen rows)."""
    rows = session.execute(select(MS.c.level, MS.c.stage, MS.c.due_at, MS.c.rule, MS.c.plan_date)
                           .where(MS.c.campaign_id == campaign.id)).all()
    return DeadlineBook([tuple(r) for r in rows], ZoneInfo(campaign.timezone))


def owes(rank: ColumnElement[Any] | int) -> ColumnElement[bool]:
    """A cycle still owes the stage of `rank`: in its flow, not yet reached (`workflow.stages.owes`)."""
    bit = literal(1).op("<<")(rank)
    return and_(Cycle.stage_rank < rank, Cycle.stages_mask.op("&")(bit) != 0)


def owed_due() -> ColumnElement[Any]:
    """A cycle's deadline for a stage: its extension if it has one, else its level's milestone."""
    return func.coalesce(EX.c.due_at, MS.c.due_at)


def owed_deadlines(campaign: Campaign) -> Select[Any]:
    """Rows (cycle, unit, stage, due) for every stage a cycle still owes, with its deadline."""
    ms, ex = MS, EX
    due = owed_due()
    return (
        select(Cycle.id.label("cycle_id"), Unit.id.label("unit_id"), ms.c.stage, due.label("due_at"))
        .select_from(Cycle)
        .join(Unit, Unit.id == Cycle.unit_id)
        .join(ms, and_(ms.c.campaign_id == Cycle.campaign_id, ms.c.level == Unit.level))
        .outerjoin(ex, and_(ex.c.cycle_id == Cycle.id, ex.c.stage == ms.c.stage))
        .where(Cycle.campaign_id == campaign.id, Unit.active.is_(True),
               owes(ms.c.stage_rank))
    )


class Deadline(NamedTuple):
    """Where one part of the late pairs takes its stage and deadline from (SQL expressions)."""

    stage: ColumnElement[Any]
    due_at: ColumnElement[Any]
    #: the plan's milestone when the part is one (its values are constants), None for extensions
    milestone: Row[*tuple[Any, ...]] | None


#: the output columns of `_late_pairs` for one part, from the unit and the part's deadline
LateColumns = Callable[[Deadline], list[ColumnElement[Any]]]


def _late_pairs(session: Session, campaign: Campaign, as_of: datetime, under: Unit | None,
                columns: LateColumns) -> Select[Any]:
    """Every late (unit, stage) as of `as_of`, in the listing's order: deadline, unit, stage.

    One part per milestone due by `as_of` (one, early in the season; never more than the
    plan's few), its level, stage and rank written into the statement as constants, so the
    planner knows that one level's cycles behind one rank are wanted (through a join with the
    milestones it guesses far too few, and chooses plans that build the cycles' hash once per
    worker); and one part for the extensions, which are few
    and start from their table (SQLite is told not to scan cycles by campaign for it).
    """
    def common(part: Select[Any], rank: Any) -> Select[Any]:
        part = part.join(Unit, Unit.id == Cycle.unit_id).where(
            Cycle.campaign_id == campaign.id, Unit.active.is_(True), owes(rank))
        return part.where(Unit.path.like(under.path + "%")) if under is not None else part

    due = session.execute(
        select(MS.c.level, MS.c.stage, MS.c.stage_rank, MS.c.due_at, MS.c.rule, MS.c.plan_date)
        .where(MS.c.campaign_id == campaign.id, MS.c.due_at <= as_of)).all()
    parts = []
    for m in due:
        plan = Deadline(literal(m.stage, String), literal(m.due_at, MS.c.due_at.type), m)
        extended = exists().where(EX.c.cycle_id == Cycle.id, EX.c.stage == m.stage)
        parts.append(common(
            select(*columns(plan), plan.due_at.label("due_at"), Unit.code.label("code"),
                   literal(m.stage_rank).label("stage_rank"))
            .select_from(Cycle)
            .where(Unit.level == m.level, ~extended), m.stage_rank))
    extension = Deadline(EX.c.stage, EX.c.due_at, None)
    parts.append(common(
        select(*columns(extension), EX.c.due_at.label("due_at"), Unit.code.label("code"),
               EX.c.stage_rank.label("stage_rank"))
        .select_from(EX)
        .join(Cycle, Cycle.id == EX.c.cycle_id)
        .where(EX.c.due_at <= as_of)
        .with_hint(Cycle, "NOT INDEXED", "sqlite"), EX.c.stage_rank))
    both = union_all(*parts).subquery("late")
    return select(both).order_by(both.c.due_at, both.c.code, both.c.stage_rank)


def _plain(deadline: Deadline) -> list[ColumnElement[Any]]:
    return [Unit.name.label("name"), Unit.level.label("level"), deadline.stage.label("stage"),
            Unit.secretary.label("secretary")]


def overdue_rows(session: Session, campaign: Campaign, as_of: datetime,
                 under: Unit | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """One row per late (unit, stage): unit,name,level,stage,deadline,days_late,secretary.

    `deadline` is a `Due` (the plan's wording, its instant), with its rule and plan date beside.

    The longest late first; `limit` keeps the first rows only (the session buffers what it reads).
    """
    book = deadline_book(session, campaign)
    for row in session.execute(_late_pairs(session, campaign, as_of, under, _plain).limit(limit)):
        due = book.due(row.level, row.stage, row.due_at)
        yield {"unit": row.code, "name": row.name, "level": row.level, "stage": row.stage,
               "deadline": due, "deadline_rule": due.rule, "plan_date": due.plan_date,
               "days_late": days_late(row.due_at, as_of), "secretary": row.secretary}


def overdue_count(session: Session, campaign: Campaign, as_of: datetime, under: Unit | None = None) -> int:
    """How many rows `overdue_rows` finds, counted by the database."""
    late = _late_pairs(session, campaign, as_of, under, _plain).order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(late)) or 0


def overdue_json(session: Session, campaign: Campaign, as_of: datetime,
                 under: Unit | None = None) -> Iterator[bytes]:
    """The same rows as `overdue_rows`, each a JSON object built by the database
    (`Dialect.json_object`), one per line (UTF-8), in chunks of lines (PostgreSQL streams
    them with COPY).

    What a milestone decides (its stage, instant in the campaign's zone, rule, plan date,
    days late) is computed here, once per milestone, and reaches the statement as bound
    constants; each row adds its unit's values. Extensions are few and are computed in SQL
    (`Dialect.local_iso`, `local_plan_date`).
    """
    d = Dialect.of(session)
    zone = ZoneInfo(campaign.timezone)

    def deadline_members(deadline: Deadline) -> dict[str, Any]:
        if deadline.milestone is not None:
            m = deadline.milestone
            due = Due(m.due_at, m.rule, m.plan_date)
            return {"stage": m.stage, **due.as_json_members(zone), "days_late": days_late(m.due_at, as_of)}
        at = deadline.due_at
        rule = func.coalesce(select(MS.c.rule).where(
            MS.c.campaign_id == campaign.id, MS.c.level == Unit.level, MS.c.stage == deadline.stage
        ).scalar_subquery(), "before")
        return {"stage": deadline.stage, "deadline": d.local_iso(at), "deadline_rule": rule,
                "plan_date": d.local_plan_date(at, rule == "by"),
                "days_late": d.whole_days_since(at, as_of)}

    def as_json(deadline: Deadline) -> list[ColumnElement[Any]]:
        return [d.json_object(unit=Unit.code, name=Unit.name, level=Unit.level, **deadline_members(deadline),
                              secretary=Unit.secretary).label("row")]

    late = _late_pairs(session, campaign, as_of, under, as_json).subquery("late_rows")
    statement = select(late.c.row).order_by(late.c.due_at, late.c.code, late.c.stage_rank)
    connection = session.connection()
    # the sort of 275,000 rows in memory, not in temporary files (PostgreSQL's default is 4 MB)
    d.set_work_mem(connection, LISTING_WORK_MEM)
    yield from d.text_lines(connection, statement)


def status_rows(session: Session, campaign: Campaign, now: datetime,
                under: Unit | None = None) -> Iterator[dict[str, Any]]:
    """A row per cycle: unit,name,level,state,next_stage,deadline,overdue,days_late.

    `deadline` is the earliest deadline the cycle still owes (the next one it must meet), a
    `Due`, with its rule and plan date beside it.
    """
    book = deadline_book(session, campaign)
    extended = {(cycle_id, due): stage for cycle_id, stage, due in session.execute(
        select(EX.c.cycle_id, EX.c.stage, EX.c.due_at).join(Cycle, Cycle.id == EX.c.cycle_id)
        .where(Cycle.campaign_id == campaign.id))}
    planned = {(level, due.at): stage for (level, stage), due in book.by_stage.items()}
    owed = owed_deadlines(campaign).subquery()
    next_due = (select(owed.c.cycle_id, func.min(owed.c.due_at).label("due_at"))
                .group_by(owed.c.cycle_id).subquery())
    query = (
        select(Unit.code, Unit.name, Unit.level, Unit.path, Cycle.id, Cycle.state, Cycle.stages_mask,
               Cycle.stale, next_due.c.due_at)
        .select_from(Cycle).join(Unit, Unit.id == Cycle.unit_id)
        .outerjoin(next_due, next_due.c.cycle_id == Cycle.id)
        .where(Cycle.campaign_id == campaign.id)
        .order_by(Unit.path)
    )
    if under is not None:
        query = query.where(Unit.path.like(under.path + "%"))
    for row in session.execute(query):
        due = row.due_at
        late = due is not None and due <= now
        shown = None
        if due is not None:
            stage = extended.get((row.id, due)) or planned.get((row.level, due), "")
            shown = book.due(row.level, stage, due)
        yield {"unit": row.code, "name": row.name, "level": row.level, "state": row.state,
               "next_stage": next_stage(row.state, row.stages_mask), "deadline": shown,
               "deadline_rule": shown.rule if shown else None,
               "plan_date": shown.plan_date if shown else None,
               "overdue": late, "days_late": days_late(due, now) if due else None,
               "stale": row.stale}


def tree_rows(session: Session, under: Unit | None = None) -> Iterator[dict[str, Any]]:
    """Units in tree order (depth-first by path): the columns of the import file, plus depth."""
    parent = aliased(Unit)
    query = (select(Unit, parent.code.label("parent_code"))
             .outerjoin(parent, parent.id == Unit.parent_id).order_by(Unit.path))
    if under is not None:
        query = query.where(Unit.path.like(under.path + "%"))
    for unit, parent_code in session.execute(query):
        yield {"code": unit.code, "name": unit.name, "level": unit.level, "parent": parent_code,
               "secretary": unit.secretary, "email": unit.email, "zalo_user_id": unit.zalo_user_id,
               "phone": unit.phone, "has_committee": unit.has_committee, "active": unit.active,
               "depth": unit.depth}


def audit_rows(session: Session, under: Unit | None = None, limit: int | None = None
               ) -> Iterator[dict[str, Any]]:
    """Audit entries, newest first, for a unit and everything under it (or all); a reason the
    system gave itself is a `Problem` for the edge to word."""
    query = (select(AuditEntry, Unit.code).outerjoin(Unit, Unit.id == AuditEntry.unit_id)
             .order_by(AuditEntry.id.desc()))
    if under is not None:
        query = query.where(Unit.path.like(under.path + "%"))
    if limit:
        query = query.limit(limit)
    for entry, code in session.execute(query):
        yield {"at": entry.at, "actor": entry.actor, "action": entry.action, "unit": code,
               "from_state": entry.from_state, "to_state": entry.to_state,
               "reason": reason_of(entry.reason, entry.details), "details": entry.details}


"""Read-side queries: status, overdue, tree and audit rows, set-based for 300,000 cycles.

A cycle's deadline for a stage is its extension if it has one, else its level's milestone;
a stage counts only if it is in the cycle's flow (`stages_mask`) and not yet reached
(`stage_rank`). One statement computes that for every cycle under a unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import FromClause, Select, and_, func, literal, select
from sqlalchemy.orm import Session, aliased

from workflow.clock import days_late
from workflow.models import AuditEntry, Campaign, Cycle, DeadlineExtension, Milestone, Unit
from workflow.sqlrender import Dialect
from workflow.stages import next_stage

MS = Milestone.__table__
EX = DeadlineExtension.__table__


#: late units listed in one escalation or digest (all are counted; the link shows them all)
LISTED_LATE_UNITS = 200


def owed_deadlines(campaign: Campaign, ms: FromClause = MS, ex: FromClause = EX) -> Select[Any]:
    """Rows (cycle, unit, stage, due) for every stage a cycle still owes, with its deadline.

    `ms` and `ex` are the milestones and extensions to join: the tables themselves, or
    materialised selections of them carrying pre-rendered columns (see `overdue_json`).
    """
    due = func.coalesce(ex.c.due_at, ms.c.due_at)
    return (
        select(Cycle.id.label("cycle_id"), Unit.id.label("unit_id"), ms.c.stage, due.label("due_at"))
        .select_from(Cycle)
        .join(Unit, Unit.id == Cycle.unit_id)
        .join(ms, and_(ms.c.campaign_id == Cycle.campaign_id, ms.c.level == Unit.level))
        .outerjoin(ex, and_(ex.c.cycle_id == Cycle.id, ex.c.stage == ms.c.stage))
        .where(Cycle.campaign_id == campaign.id, Unit.active.is_(True),
               Cycle.stage_rank < ms.c.stage_rank,
               Cycle.stages_mask.op("&")(literal(1).op("<<")(ms.c.stage_rank)) != 0)
    )


def _overdue(campaign: Campaign, as_of: datetime, under: Unit | None,
             ms: FromClause = MS, ex: FromClause = EX) -> Select[Any]:
    due = func.coalesce(ex.c.due_at, ms.c.due_at)
    owed = owed_deadlines(campaign, ms, ex).where(due <= as_of)
    if under is not None:
        owed = owed.where(Unit.path.like(under.path + "%"))
    return owed.order_by(due, Unit.code, ms.c.stage_rank)


def overdue_rows(session: Session, campaign: Campaign, as_of: datetime,
                 under: Unit | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """One row per late (unit, stage): unit,name,level,stage,deadline,days_late,secretary.

    The latest first; `limit` keeps the first rows only (the session buffers what it reads).
    """
    owed = _overdue(campaign, as_of, under).add_columns(
        Unit.code, Unit.name, Unit.level, Unit.secretary).limit(limit)
    for row in session.execute(owed):
        yield {"unit": row.code, "name": row.name, "level": row.level, "stage": row.stage,
               "deadline": row.due_at, "days_late": days_late(row.due_at, as_of),
               "secretary": row.secretary}


def overdue_count(session: Session, campaign: Campaign, as_of: datetime, under: Unit | None = None) -> int:
    """How many rows `overdue_rows` finds, counted by the database."""
    owed = _overdue(campaign, as_of, under).order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(owed)) or 0


def overdue_json(session: Session, campaign: Campaign, as_of: datetime,
                 under: Unit | None = None) -> Iterator[str]:
    """The same rows as `overdue_rows`, each rendered as a JSON object by the database.

    A deadline's text and its days late depend only on the deadline, so they are rendered
    once per milestone and per extension (a few rows), not once per late cycle.
    """
    d = Dialect(session.get_bind().dialect.name)

    def rendered(table: FromClause, name: str) -> FromClause:
        return select(table, d.local_iso(table.c.due_at).label("due_text"),
                      d.whole_days_since(table.c.due_at, as_of).label("late")
                      ).cte(name).prefix_with("MATERIALIZED")

    ms, ex = rendered(MS, "ms"), rendered(EX, "ex")
    row = d.json_text({"unit": Unit.code, "name": Unit.name, "level": Unit.level, "stage": ms.c.stage,
                       "deadline": func.coalesce(ex.c.due_text, ms.c.due_text),
                       "days_late": func.coalesce(ex.c.late, ms.c.late),
                       "secretary": Unit.secretary})
    return session.execute(_overdue(campaign, as_of, under, ms, ex).with_only_columns(row)).scalars()


def status_rows(session: Session, campaign: Campaign, now: datetime,
                under: Unit | None = None) -> Iterator[dict[str, Any]]:
    """A row per cycle: unit,name,level,state,next_stage,deadline,overdue,days_late.

    `deadline` is the earliest deadline the cycle still owes (the next one it must meet).
    """
    owed = owed_deadlines(campaign).subquery()
    next_due = (select(owed.c.cycle_id, func.min(owed.c.due_at).label("due_at"))
                .group_by(owed.c.cycle_id).subquery())
    query = (
        select(Unit.code, Unit.name, Unit.level, Unit.path, Cycle.state, Cycle.stages_mask,
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
        yield {"unit": row.code, "name": row.name, "level": row.level, "state": row.state,
               "next_stage": next_stage(row.state, row.stages_mask), "deadline": due,
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
    """Audit entries, newest first, for a unit and everything under it (or all)."""
    query = (select(AuditEntry, Unit.code).outerjoin(Unit, Unit.id == AuditEntry.unit_id)
             .order_by(AuditEntry.id.desc()))
    if under is not None:
        query = query.where(Unit.path.like(under.path + "%"))
    if limit:
        query = query.limit(limit)
    for entry, code in session.execute(query):
        yield {"at": entry.at, "actor": entry.actor, "action": entry.action, "unit": code,
               "from_state": entry.from_state, "to_state": entry.to_state,
               "reason": entry.reason, "details": entry.details}


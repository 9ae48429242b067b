"""Per-unit deadlines: an extension for one unit's stage, inside its parent's bounds.

Apart from `workflow.service` because it reads the campaign's plan (pydantic models), which
moving a cycle never needs: `advance` stays clear of those imports and their start-up time.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from config.plan import PlanDate
from workflow.audit import record
from workflow.campaigns import campaign_plan
from workflow.clock import Clock
from workflow.db import Database
from workflow.errors import BadInput, Label, Problem, Refused
from workflow.lookup import load_cycle
from workflow.models import Campaign, Cycle, DeadlineExtension, Milestone, Unit
from workflow.notices import Due, extended_due, local_iso
from workflow.queries import owed_due
from workflow.stages import RANK, STAGES, stages_of


class DeadlineService:
    """Extends deadlines on behalf of an actor, at the clock's time; audited, one transaction."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    def extend(self, code: str, stage: str, day: date, *, year: int | None = None,
               rule: str | None = None, reason: str, actor: str) -> tuple[datetime, datetime]:
        """Give one unit its own deadline for a stage, inside its parent's and its own plan's
        bounds. Returns (old, new) due instants."""
        if stage not in STAGES[1:]:
            raise BadInput("stage.unknown", stage=stage, stages=", ".join(STAGES[1:]))
        if not reason.strip():
            raise BadInput("deadline.needs_reason")
        with self.db.session(write=True) as session:
            campaign, unit, cycle = load_cycle(session, code, year)
            deadlines = effective_deadlines(session, cycle, unit)
            if stage not in deadlines:
                raise Refused("deadline.no_deadline", code=code, year=campaign.year, label=Label(stage), stage=stage)
            old = deadlines[stage].at
            plan = campaign_plan(campaign)
            rule = rule or deadlines[stage].rule
            new = PlanDate.model_validate({rule: day}).due_at(plan.zone)
            self._check_not_earlier(session, code, stage, campaign, unit, new)
            deadlines[stage] = Due(new, rule, day)
            self._check_bounds(session, campaign, unit, cycle, stage, deadlines)
            session.execute(
                DeadlineExtension.__table__.delete().where(
                    DeadlineExtension.cycle_id == cycle.id, DeadlineExtension.stage == stage))
            session.add(DeadlineExtension(cycle_id=cycle.id, stage=stage, stage_rank=RANK[stage],
                                          due_at=new, reason=reason, actor=actor,
                                          created_at=self.clock()))
            record(session, self.clock, actor, "deadline.extend", campaign_id=campaign.id,
                   unit_id=unit.id, cycle_id=cycle.id, reason=reason,
                   details={"stage": stage, "from": local_iso(old, plan.zone), "to": local_iso(new, plan.zone),
                            "rule": rule})
            return old, new

    def _check_not_earlier(self, session: Session, code: str, stage: str, campaign: Campaign,
                           unit: Unit, new: datetime) -> None:
        """An extension gives time: it may not fall before the plan's deadline (which would
        fire late notices and escalations at once), nor in the past."""
        now = self.clock()
        if new <= now:
            raise Refused("deadline.passed", code=code, new=_show(new, campaign), now=_show(now, campaign))
        planned = session.scalar(select(Milestone.due_at).where(
            Milestone.campaign_id == campaign.id, Milestone.level == unit.level,
            Milestone.stage == stage))
        if planned is not None and new < planned:
            raise Refused("deadline.earlier_than_plan", code=code, new=_show(new, campaign), stage=stage,
                          planned=_show(planned, campaign))

    def _check_bounds(self, session: Session, campaign: Campaign, unit: Unit, cycle: Cycle,
                      stage: str, deadlines: dict[str, Due]) -> None:
        ordered = [(s, deadlines[s].at) for s in stages_of(cycle.stages_mask) if s in deadlines]
        for (s1, d1), (s2, d2) in zip(ordered, ordered[1:], strict=False):
            if d2 < d1:
                raise Refused("deadline.order", code=unit.code, label2=Label(s2), stage2=s2, label1=Label(s1),
                              stage1=s1)
        if unit.parent_id is not None:
            parent_cycle = session.scalar(select(Cycle).where(
                Cycle.campaign_id == campaign.id, Cycle.unit_id == unit.parent_id))
            if parent_cycle is not None:
                parent = session.get_one(Unit, unit.parent_id)
                bound = effective_deadlines(session, parent_cycle, parent).get("forms_submitted")
                if bound and deadlines[stage].at > bound.at:
                    raise Refused("deadline.after_parent", code=unit.code, label=Label(stage), stage=stage,
                                  parent=parent.code, bound=Problem(f"deadline.{bound.rule or 'before'}",
                                                                    day=f"{bound.plan_date:%d/%m/%Y}"))
        if stage == "forms_submitted":
            late_child = session.execute(
                select(Unit.code, owed_due())
                .join(Cycle, and_(Cycle.unit_id == Unit.id, Cycle.campaign_id == campaign.id))
                .join(Milestone, and_(Milestone.campaign_id == campaign.id,
                                      Milestone.level == Unit.level,
                                      Milestone.stage == "forms_submitted"))
                .outerjoin(DeadlineExtension, and_(DeadlineExtension.cycle_id == Cycle.id,
                                                   DeadlineExtension.stage == "forms_submitted"))
                .where(Unit.parent_id == unit.id, Unit.active.is_(True),
                       owed_due() > deadlines[stage].at)
                .limit(1)
            ).first()
            if late_child:
                raise Refused("deadline.before_child", code=unit.code, child=late_child[0],
                              due=_show(late_child[1], campaign))


def effective_deadlines(session: Session, cycle: Cycle, unit: Unit) -> dict[str, Due]:
    """Return {stage: deadline} for a cycle: its extension, else its level's milestone.

    A milestone keeps the plan's stored date; an extension's date follows from its instant
    and the milestone's rule (`workflow.notices.extended_due`).
    """
    zone = ZoneInfo(session.get_one(Campaign, cycle.campaign_id).timezone)
    out = {m.stage: Due(m.due_at, m.rule, m.plan_date) for m in session.scalars(
        select(Milestone).where(Milestone.campaign_id == cycle.campaign_id, Milestone.level == unit.level))}
    for ext in session.scalars(select(DeadlineExtension).where(DeadlineExtension.cycle_id == cycle.id)):
        out[ext.stage] = extended_due(out.get(ext.stage), ext.due_at, zone)
    flow = stages_of(cycle.stages_mask)
    return {s: v for s, v in out.items() if s in flow}


def _show(instant: datetime, campaign: Campaign) -> str:
    return f"{instant.astimezone(campaign_plan(campaign).zone):%d/%m/%Y %H:%M}"

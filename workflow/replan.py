"""Change a running campaign's plan: `kiemdiem campaign update YEAR --plan FILE`.

A plan is issued before the season and sometimes corrected during it (a meeting moved, a
deadline extended for everyone). The new plan is checked as a new one is (cascade, campaign
year) and against what the campaign already holds: a unit's own extension must stay within
its parent's new deadline. An extension the new plan makes pointless (the plan now gives the
level as long or longer) is removed and said so. Everything is one transaction with an
audit entry; the scheduler sees the new milestones at its next catch-up (its jobs follow the
milestones' fingerprint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, aliased

from config.hierarchy import Hierarchy
from config.plan import Milestone as PlanMilestone
from config.plan import Plan
from workflow.audit import record
from workflow.campaigns import DeadlineChange, deadline_changes, read_plan, stored_deadlines
from workflow.clock import Clock
from workflow.db import Database
from workflow.errors import Problem, Refused
from workflow.lookup import get_campaign
from workflow.models import Campaign, Cycle, DeadlineExtension, Milestone, Unit
from workflow.stages import RANK


@dataclass
class PlanUpdate:
    """What `campaign update` changed (or, in a dry run, would change)."""

    year: int
    changes: list[DeadlineChange] = field(default_factory=list)
    #: (unit code, stage, its extension's instant) made pointless by the new plan
    superseded: list[tuple[str, str, datetime]] = field(default_factory=list)
    policy_changed: bool = False


def update_plan(db: Database, year: int, plan_path: Path, hierarchy: Hierarchy, clock: Clock,
                actor: str, dry_run: bool = False) -> PlanUpdate:
    """Replace the YEAR campaign's plan with the file's, or refuse saying which unit blocks it."""
    plan = read_plan(plan_path, year, hierarchy)
    with db.session(write=not dry_run) as session:
        campaign = get_campaign(session, year)
        result = PlanUpdate(year, deadline_changes(stored_deadlines(session, campaign), plan))
        result.policy_changed = _policy(campaign.plan) != _policy(plan.model_dump(mode="json"))
        new = {(m.level, m.stage): m for m in plan.milestones()}
        result.superseded = _check_extensions(session, campaign, new, plan)
        if dry_run:
            return result
        session.execute(delete(Milestone).where(Milestone.campaign_id == campaign.id))
        session.flush()
        session.add_all(Milestone(campaign_id=campaign.id, level=m.level, stage=m.stage,
                                  stage_rank=RANK[m.stage], rule=m.plan_date.rule,
                                  plan_date=m.plan_date.day, due_at=m.due_at) for m in new.values())
        for code, stage, _ in result.superseded:
            cycle_id = session.scalar(select(Cycle.id).join(Unit, Unit.id == Cycle.unit_id).where(
                Cycle.campaign_id == campaign.id, Unit.code == code))
            session.execute(delete(DeadlineExtension).where(
                DeadlineExtension.cycle_id == cycle_id, DeadlineExtension.stage == stage))
        session.execute(update(Campaign).where(Campaign.id == campaign.id).values(
            plan=plan.model_dump(mode="json"), title=plan.title, excellent_quota=plan.excellent_quota))
        record(session, clock, actor, "campaign.update", campaign_id=campaign.id,
               details={"plan": plan_path.name,
                        "changes": [[c.level, c.stage, c.old and c.old.isoformat(),
                                     c.new and c.new.isoformat()] for c in result.changes],
                        "superseded_extensions": [[code, stage] for code, stage, _ in result.superseded]})
        return result


def _policy(plan: dict) -> dict:
    """A stored plan without its deadlines: reminders, late policy, quiet hours, quota."""
    return {k: v for k, v in plan.items() if k != "deadlines"}


def _check_extensions(session: Session, campaign: Campaign, new: dict[tuple[str, str], PlanMilestone],
                      plan: Plan) -> list[tuple[str, str, datetime]]:
    """Refuse extensions the new plan puts past a parent's deadline; return the pointless ones."""
    parent = aliased(Unit)
    parent_cycle = aliased(Cycle)
    parent_ext = aliased(DeadlineExtension)
    rows = session.execute(
        select(Unit.code, Unit.level, DeadlineExtension.stage, DeadlineExtension.due_at,
               parent.code, parent.level, parent_ext.due_at)
        .join(Cycle, Cycle.id == DeadlineExtension.cycle_id)
        .join(Unit, Unit.id == Cycle.unit_id)
        .outerjoin(parent, parent.id == Unit.parent_id)
        .outerjoin(parent_cycle, (parent_cycle.unit_id == parent.id)
                   & (parent_cycle.campaign_id == campaign.id))
        .outerjoin(parent_ext, (parent_ext.cycle_id == parent_cycle.id)
                   & (parent_ext.stage == "forms_submitted"))
        .where(Cycle.campaign_id == campaign.id)
        .order_by(Unit.code, DeadlineExtension.stage_rank)
    ).all()
    zone = plan.zone
    blocked: list[Problem] = []
    superseded = []
    for code, level, stage, due, parent_code, parent_level, parent_due in rows:
        milestone = new.get((level, stage))
        if milestone is not None and milestone.due_at >= due:
            superseded.append((code, stage, due))
            continue
        bound = parent_due
        if bound is None and parent_level is not None and (parent_level, "forms_submitted") in new:
            bound = new[(parent_level, "forms_submitted")].due_at
        if bound is not None and due > bound:
            blocked.append(Problem("replan.extension_after_parent", code=code, stage=stage,
                                   due=f"{due.astimezone(zone):%d/%m/%Y %H:%M}", parent=parent_code,
                                   bound=f"{bound.astimezone(zone):%d/%m/%Y %H:%M}"))
    if blocked:
        raise Refused("replan.blocked", count=len(blocked), extensions=blocked)
    return superseded

"""Create a year's campaign from its plan: milestones per level, one cycle per active unit.

Cycles are created by one `INSERT … SELECT` over the subtree (set-based: 300,000 units take
seconds), with each cycle's stage mask computed in SQL from the unit's committee and
whether it has active children. Units added later get their cycles from `add_missing_cycles`
(the unit import calls it), so a campaign follows the tree it was issued to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, case, exists, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from config.errors import ConfigError
from config.hierarchy import Hierarchy
from config.plan import Plan, load_plan
from workflow.audit import record
from workflow.clock import Clock
from workflow.db import Database, affected
from workflow.errors import BadInput, Refused
from workflow.lookup import find_unit
from workflow.models import Campaign, Cycle, Milestone, Unit
from workflow.sqlrender import Dialect
from workflow.stages import RANK, flow, mask

#: the flow of `workflow.stages.flow` in SQL: every unit's stages, then what each kind adds
ALWAYS = mask(flow(has_committee=False, has_children=True))
WITH_COMMITTEE = mask(flow(has_committee=True, has_children=True)) - ALWAYS
WITHOUT_CHILDREN = mask(flow(has_committee=False, has_children=False)) - ALWAYS


@dataclass(frozen=True)
class DeadlineChange:
    """One (level, stage) whose deadline a plan adds, moves or removes."""

    level: str
    stage: str
    old: datetime | None
    new: datetime | None


@dataclass(frozen=True)
class CampaignReport:
    year: int
    created: bool
    cycles_added: int
    milestones: int
    #: for an existing campaign: where the given plan's deadlines differ from the stored ones
    plan_differs: list[DeadlineChange] = field(default_factory=list)


def stored_deadlines(session: Session, campaign: Campaign) -> dict[tuple[str, str], datetime]:
    """The campaign's milestones as {(level, stage): due instant}."""
    return {(m.level, m.stage): m.due_at for m in session.scalars(
        select(Milestone).where(Milestone.campaign_id == campaign.id))}


def deadline_changes(stored: dict[tuple[str, str], datetime], plan: Plan) -> list[DeadlineChange]:
    """The (level, stage) deadlines on which a plan and a campaign's milestones differ."""
    new = {(m.level, m.stage): m.due_at for m in plan.milestones()}
    keys = sorted(set(stored) | set(new), key=lambda k: (k[0], RANK[k[1]]))
    return [DeadlineChange(*key, stored.get(key), new.get(key))
            for key in keys if stored.get(key) != new.get(key)]


def read_plan(path: Path, year: int, hierarchy: Hierarchy) -> Plan:
    """Load and check a plan for `year`, refusing one that contradicts itself."""
    try:
        plan = load_plan(path)
        plan.check_against(hierarchy)
    except ConfigError as exc:
        raise BadInput(exc.code, exc.problems, **exc.data) from exc
    if plan.year != year:
        raise BadInput("plan.wrong_year", file=path.name, plan_year=plan.year, year=year)
    return plan


def create_campaign(db: Database, year: int, plan_path: Path, hierarchy: Hierarchy, clock: Clock,
                    actor: str, root_code: str | None = None,
                    if_missing: bool = False) -> CampaignReport:
    """Issue the plan: store it and its milestones, and give every active unit a cycle.

    With `if_missing` an existing campaign is kept and only topped up with cycles for units
    added since (what `make run` and `campaign ensure` want); otherwise it is refused.
    """
    plan = read_plan(plan_path, year, hierarchy)
    with db.session(write=True) as session:
        campaign = session.scalar(select(Campaign).where(Campaign.year == year))
        if campaign is not None:
            if not if_missing:
                raise Refused("campaign.exists", year=year)
            added = add_missing_cycles(session, campaign, clock)
            return CampaignReport(year, False, added, 0,
                                  deadline_changes(stored_deadlines(session, campaign), plan))
        root = find_unit(session, root_code) if root_code else None
        if root is None and session.scalar(select(func.count()).select_from(Unit)) == 0:
            raise Refused("units.none")
        campaign = Campaign(
            year=year, title=plan.title, timezone=plan.timezone, rule_set=plan.effective_rule_set,
            excellent_quota=plan.excellent_quota, hierarchy=hierarchy.name,
            root_unit_id=root.id if root else None, plan=plan.model_dump(mode="json"),
            created_at=clock(),
        )
        session.add(campaign)
        session.flush()
        milestones = plan.milestones()  # on the plan's own holiday calendar when it shifts
        session.execute(insert(Milestone), [
            {"campaign_id": campaign.id, "level": m.level, "stage": m.stage,
             "stage_rank": RANK[m.stage], "rule": m.plan_date.rule, "plan_date": m.plan_date.day,
             "due_at": m.due_at} for m in milestones
        ])
        added = add_missing_cycles(session, campaign, clock)
        record(session, clock, actor, "campaign.create", campaign_id=campaign.id,
               details={"year": year, "plan": plan_path.name, "cycles": added,
                        "root": root_code, "rule_set": campaign.rule_set})
        # statistics now, not when autovacuum gets to them: planned on none, the season's
        # first `overdue` over the new cycles would be planned as nested loops
        Dialect.of(session).analyze(session, "units", "cycles", "milestones")
        return CampaignReport(year, True, added, len(milestones))


def add_missing_cycles(session: Session, campaign: Campaign, clock: Clock) -> int:
    """Give every active unit under the campaign's root that has no cycle one, in one statement."""
    u = Unit.__table__
    child = aliased(Unit)
    has_children = exists().where(and_(child.parent_id == u.c.id, child.active.is_(True)))
    stages_mask = (
        literal(ALWAYS)
        + case((u.c.has_committee.is_(True), WITH_COMMITTEE), else_=0)
        + case((has_children, 0), else_=WITHOUT_CHILDREN)
    )
    now = clock()
    conditions = [u.c.active.is_(True),
                  ~exists().where(and_(Cycle.campaign_id == campaign.id, Cycle.unit_id == u.c.id))]
    if campaign.root_unit_id is not None:
        root_path = session.scalar(select(Unit.path).where(Unit.id == campaign.root_unit_id))
        conditions.append(u.c.path.like(f"{root_path}%"))
    source = select(
        literal(campaign.id), u.c.id, literal("plan_issued"), literal(0), stages_mask,
        literal(False), literal(1), literal(now, type_=Cycle.state_changed_at.type),
        literal(now, type_=Cycle.created_at.type),
    ).where(*conditions)
    result = session.execute(insert(Cycle.__table__).from_select(
        ["campaign_id", "unit_id", "state", "stage_rank", "stages_mask", "stale", "version",
         "state_changed_at", "created_at"], source).execution_options(preserve_rowcount=True))
    return affected(result)


def campaign_plan(campaign: Campaign) -> Plan:
    """Return the plan a campaign was issued with."""
    return Plan.model_validate(campaign.plan)

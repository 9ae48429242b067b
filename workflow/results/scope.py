"""Where the quotas are counted: the other cells of a cell's base organisation (the members'
quota with `quota_scope: base`) and a unit's siblings (the collectives' quota).

A cell under a unit at the `base` level is a chi bộ trực thuộc, counted with its base's other
cells; a cell anywhere else is a base organisation in its own right (chi bộ cơ sở).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.models import Campaign, Cycle, Unit, UnitResult

BASE_LEVEL = "base"


def member_peers(session: Session, campaign: Campaign, unit: Unit) -> tuple[int, int]:
    """HTXS and HTT members stored for the other cells of `unit`'s base organisation."""
    parent = session.get(Unit, unit.parent_id) if unit.parent_id is not None else None
    if parent is None or parent.level != BASE_LEVEL:
        return 0, 0
    row = session.execute(
        select(func.coalesce(func.sum(UnitResult.count_htxs), 0), func.coalesce(func.sum(UnitResult.count_htt), 0))
        .join(Cycle, Cycle.id == UnitResult.cycle_id).join(Unit, Unit.id == Cycle.unit_id)
        .where(Cycle.campaign_id == campaign.id, Unit.parent_id == parent.id, Unit.id != unit.id,
               Unit.active.is_(True))).one()
    return int(row[0]), int(row[1])


def sibling_levels(session: Session, campaign: Campaign, parent_id: int) -> dict[str, str | None]:
    """Unit code -> stored collective level of every active unit directly under `parent_id`."""
    rows = session.execute(
        select(Unit.code, UnitResult.collective_level)
        .join(Cycle, (Cycle.unit_id == Unit.id) & (Cycle.campaign_id == campaign.id))
        .outerjoin(UnitResult, UnitResult.cycle_id == Cycle.id)
        .where(Unit.parent_id == parent_id, Unit.active.is_(True)))
    return {code: level for code, level in rows}

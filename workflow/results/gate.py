"""The results gate on `forms_submitted`: a unit sends its forms up only with valid results.

A cell needs its own valid results; a parent needs valid results for every active cell
under it (and no forced-invalid results anywhere below). `CycleService` calls
`submit_gate` (wired by `kiemdiem.app.App.cycle_service`); `advance --force --reason` overrides
it like any overridable guard, and the service audits the override.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from workflow.errors import Problem
from workflow.models import Cycle, Unit, UnitResult
from workflow.stages import BIT, classifies_members

SHOWN = 10


def results_ready(session: Session, cycle: Cycle) -> Problem | None:
    """None when `cycle` may reach `forms_submitted` as far as results go, else why not."""
    unit = session.get(Unit, cycle.unit_id)
    assert unit is not None
    if classifies_members(cycle.stages_mask):
        row = session.execute(select(UnitResult.valid, UnitResult.violations)
                              .where(UnitResult.cycle_id == cycle.id)).first()
        if row is None:
            return Problem("results.missing", code=unit.code)
        if not row.valid:
            return Problem("results.invalid", count=len(row.violations), code=unit.code)
        return None
    valid = exists().where(and_(UnitResult.cycle_id == Cycle.id, UnitResult.valid.is_(True)))
    stored = exists().where(UnitResult.cycle_id == Cycle.id)
    missing = (
        select(Unit.code).join(Cycle, and_(Cycle.unit_id == Unit.id, Cycle.campaign_id == cycle.campaign_id))
        .where(Unit.path.like(unit.path + "%"), Unit.id != unit.id, Unit.active.is_(True), ~valid,
               (Cycle.stages_mask.op("&")(BIT["cell_met"]) != 0) | stored)
    )
    total = session.scalar(select(func.count()).select_from(missing.subquery()))
    if not total:
        return None
    codes = list(session.scalars(missing.order_by(Unit.code).limit(SHOWN)))
    more = Problem("units.more", count=total - SHOWN) if total > SHOWN else ""
    return Problem("results.missing_below", count=total, units=", ".join(codes), more=more)


def submit_gate(session: Session, cycle: Cycle, unit: Unit) -> list[Problem]:
    """`results_ready` in the shape of `workflow.service.SubmitGate`."""
    problem = results_ready(session, cycle)
    return [problem] if problem else []

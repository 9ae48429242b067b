"""A unit's aggregate: the sum of the stored results under it, computed by one GROUP BY.

Nothing here walks members or units in Python: one statement groups every cycle under the
unit by (direct child, kind of organisation, collective level) and sums the per-level
columns of `unit_results`; Python only adds up those few dozen rows. The aggregate is
always computed from the children's stored results, so a `reopen` (which flags submitted
ancestors `stale`) or an amendment is reflected the next time it is asked for; `stale` in
the result tells the office that what it sent up earlier no longer matches.

Kinds of organisation: a unit at the `base` level is a base organisation (tổ chức cơ sở
đảng); a unit that classifies members itself is a cell (chi bộ trực thuộc) when its parent
is a base, and otherwise a base organisation in its own right (chi bộ cơ sở). Units above
base (district, province) are neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from workflow.clock import days_late
from workflow.models import Campaign, Cycle, Milestone, Unit, UnitResult
from workflow.queries import owed_deadlines
from workflow.results.levels import ALL, PENDING, RATED
from workflow.results.rules import quota_allowed
from workflow.results.scope import BASE_LEVEL
from workflow.results.sheet import REASONS
from workflow.results.store import COUNT_COLUMN, LOWER_COLUMN, REASON_COLUMN
from workflow.sqlrender import Dialect
from workflow.stages import BIT, RANK

KINDS = ("cells", "bases")
MISSING = "MISSING"


def _zero() -> dict[str, int]:
    return dict.fromkeys(ALL, 0)


@dataclass
class Tally:
    """Counts for one slice of the tree: members per level, organisations per kind and level."""

    members: dict[str, int] = field(default_factory=_zero)
    reasons: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    #: members rated below their ceiling, per kind of ground (quota, KHT ground, other)
    lowered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOWER_COLUMN, 0))
    cells: dict[str, int] = field(default_factory=_zero)
    bases: dict[str, int] = field(default_factory=_zero)
    without_results: int = 0
    invalid: int = 0
    supplements: int = 0

    def add(self, other: Tally) -> None:
        for name in ("members", "reasons", "lowered", "cells", "bases"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        self.without_results += other.without_results
        self.invalid += other.invalid
        self.supplements += other.supplements


@dataclass
class Rollup:
    """The aggregate under one unit, its breakdown by direct child and what is missing."""

    unit: Unit | None  # None: the whole campaign (the national report)
    campaign: Campaign
    total: Tally
    children: list[tuple[Unit, Tally]]
    missing: list[tuple[str, str]]  # (code, name) of the direct children yet to submit
    late: list[dict[str, Any]]
    stale: bool
    generated_at: datetime


def percentages(counts: dict[str, int]) -> dict[str, float]:
    """Share of each rated level among the rated (the four levels), in percent, 2 decimals."""
    rated = sum(counts[level] for level in RATED)
    return {level: round(100 * counts[level] / rated, 2) if rated else 0.0 for level in RATED}


def quota_used(counts: dict[str, int], quota: float) -> dict[str, Any]:
    htxs, htt = counts["HTXS"], counts["HTT"]
    return {"quota": quota, "HTXS": htxs, "HTT": htt, "allowed": quota_allowed(htt, quota),
            "share": round(htxs / htt, 4) if htt else None}


def _grouped(session: Session, campaign: Campaign, prefix: str) -> list[Any]:
    """One row per (child path, kind, collective level) with summed member counts."""
    parent = aliased(Unit)
    start = len(prefix)
    rest = func.substr(Unit.path, start + 1)
    child_path = func.substr(Unit.path, 1, literal(start) + Dialect.of(session).position(rest, "/"))
    leaf = Cycle.stages_mask.op("&")(BIT["cell_met"]) != 0
    kind = case((Unit.level == BASE_LEVEL, "bases"),
                (and_(leaf, parent.level == BASE_LEVEL), "cells"),
                (leaf, "bases"), else_="other")
    level = case((and_(UnitResult.id.is_(None), leaf), MISSING),
                 else_=func.coalesce(UnitResult.collective_level, PENDING))
    sums = [func.coalesce(func.sum(getattr(UnitResult, c)), 0).label(c)
            for c in (*COUNT_COLUMN.values(), *REASON_COLUMN.values(), *LOWER_COLUMN.values())]
    flags = [func.sum(case((UnitResult.valid.is_(False), 1), else_=0)).label("invalid"),
             func.sum(case((UnitResult.supplement.is_(True), 1), else_=0)).label("supplements")]
    query = (
        select(child_path.label("child_path"), kind.label("kind"), level.label("level"),
               func.count().label("units"), *sums, *flags)
        .select_from(Cycle)
        .join(Unit, Unit.id == Cycle.unit_id)
        .outerjoin(parent, parent.id == Unit.parent_id)
        .outerjoin(UnitResult, UnitResult.cycle_id == Cycle.id)
        .where(Cycle.campaign_id == campaign.id, Unit.path.like(prefix + "%"), Unit.active.is_(True))
        .group_by(child_path, kind, level)
    )
    return list(session.execute(query))


def _tally(rows: list[Any]) -> Tally:
    tally = Tally()
    for row in rows:
        for lvl, column in COUNT_COLUMN.items():
            tally.members[lvl] += getattr(row, column)
        for reason, column in REASON_COLUMN.items():
            tally.reasons[reason] += getattr(row, column)
        for kind, column in LOWER_COLUMN.items():
            tally.lowered[kind] += getattr(row, column)
        if row.level == MISSING:
            tally.without_results += row.units
        elif row.kind in KINDS:
            getattr(tally, row.kind)[row.level] += row.units
        tally.invalid += row.invalid or 0
        tally.supplements += row.supplements or 0
    return tally


def rollup(session: Session, campaign: Campaign, unit: Unit | None, now: datetime) -> Rollup:
    """Aggregate everything under `unit` (itself included; None: every unit) in `campaign`."""
    rows = _grouped(session, campaign, unit.path if unit else "/")
    self_id = unit.id if unit else None
    under = Unit.parent_id == unit.id if unit else Unit.parent_id.is_(None)
    by_child: dict[str, list[Any]] = {}
    for row in rows:
        by_child.setdefault(row.child_path, []).append(row)
    units = {u.path: u for u in session.scalars(select(Unit).where(Unit.path.in_(list(by_child))))}
    children = sorted(((units[path], _tally(child_rows)) for path, child_rows in by_child.items()),
                      key=lambda pair: (pair[0].id != self_id, pair[0].code))
    total = Tally()
    for _child, tally in children:
        total.add(tally)
    missing = [(r.code, r.name) for r in session.execute(
        select(Unit.code, Unit.name).join(Cycle, and_(Cycle.unit_id == Unit.id, Cycle.campaign_id == campaign.id))
        .where(under, Unit.active.is_(True), Cycle.stage_rank < RANK["forms_submitted"])
        .order_by(Unit.code))]
    owed = owed_deadlines(campaign).where(Milestone.stage == "forms_submitted", under).subquery()
    late = [{"code": r.code, "name": r.name, "deadline": r.due_at, "days_late": days_late(r.due_at, now)}
            for r in session.execute(select(Unit.code, Unit.name, owed.c.due_at)
                                     .join(owed, owed.c.unit_id == Unit.id)
                                     .where(owed.c.due_at <= now).order_by(Unit.code))]
    stale = bool(unit and session.scalar(select(Cycle.stale).where(Cycle.campaign_id == campaign.id,
                                                                    Cycle.unit_id == unit.id)))
    return Rollup(unit, campaign, total, children, missing, late, stale, now)

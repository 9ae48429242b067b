"""The results tables: one row per unit and campaign, and the members' rows (confidential):
migrations `results_0001` and `results_0002_grounds`.

`unit_results` keeps the counts per level as columns, so a roll-up over 300,000 units is
one `SUM … GROUP BY`, never a walk over members. `member_results` holds each member's
rating; it never leaves the database except in the unit's own `results show` and in
exports an authorised user makes (never in a notification).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.models.core import Base


class UnitResult(Base):
    """One unit's results in one campaign (its cycle): counts, its own level, validity."""

    __tablename__ = "unit_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"), unique=True)
    #: `members` (a row per member), `counts` (totals only) or `collective` (a parent's own level)
    form: Mapped[str] = mapped_column(String(16))
    collective_level: Mapped[str | None] = mapped_column(String(16))
    founded_on: Mapped[date | None] = mapped_column(Date)
    review_date: Mapped[date] = mapped_column(Date)
    count_htxs: Mapped[int] = mapped_column(Integer, default=0)
    count_htt: Mapped[int] = mapped_column(Integer, default=0)
    count_ht: Mapped[int] = mapped_column(Integer, default=0)
    count_kht: Mapped[int] = mapped_column(Integer, default=0)
    count_not_classified: Mapped[int] = mapped_column(Integer, default=0)
    count_pending: Mapped[int] = mapped_column(Integer, default=0)
    nc_new_member: Mapped[int] = mapped_column(Integer, default=0)
    nc_exempt: Mapped[int] = mapped_column(Integer, default=0)
    nc_suspended: Mapped[int] = mapped_column(Integer, default=0)
    nc_other: Mapped[int] = mapped_column(Integer, default=0)
    #: ratings below the ceiling, per kind of `lower_reason` (the report counts them)
    lower_quota: Mapped[int] = mapped_column(Integer, default=0)
    lower_ground: Mapped[int] = mapped_column(Integer, default=0)
    lower_other: Mapped[int] = mapped_column(Integer, default=0)
    #: the collective's own record (score, tasks, discipline), as `parse.COLLECTIVE_COLUMNS`
    collective_record: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: pending members were rated later (`results amend`): sent up as a supplement
    supplement: Mapped[bool] = mapped_column(Boolean, default=False)
    valid: Mapped[bool] = mapped_column(Boolean)
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rule_set: Mapped[str] = mapped_column(String(16))
    excellent_quota: Mapped[float] = mapped_column(Float)
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class MemberResult(Base):
    """One member's rating and the facts the rules checked it against."""

    __tablename__ = "member_results"
    __table_args__ = (UniqueConstraint("unit_result_id", "name"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    unit_result_id: Mapped[int] = mapped_column(ForeignKey("unit_results.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(255))
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)
    level: Mapped[str] = mapped_column(String(16))
    votes_for: Mapped[int | None] = mapped_column(Integer)
    full_members_voting: Mapped[int | None] = mapped_column(Integer)
    score_general: Mapped[float | None] = mapped_column(Float)
    score_tasks: Mapped[float | None] = mapped_column(Float)
    tasks_total: Mapped[int | None] = mapped_column(Integer)
    tasks_on_time: Mapped[int | None] = mapped_column(Integer)
    tasks_exceeded: Mapped[int | None] = mapped_column(Integer)
    admitted_on: Mapped[date | None] = mapped_column(Date)
    sick_leave_months: Mapped[float | None] = mapped_column(Float)
    maternity_leave: Mapped[bool] = mapped_column(Boolean, default=False)
    disciplined: Mapped[bool] = mapped_column(Boolean, default=False)
    exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    absent: Mapped[bool] = mapped_column(Boolean, default=False)
    tasks_completed: Mapped[int | None] = mapped_column(Integer)
    disciplined_on: Mapped[date | None] = mapped_column(Date)
    self_discovered: Mapped[bool] = mapped_column(Boolean, default=False)
    kht_grounds: Mapped[str | None] = mapped_column(String(255))
    lower_reason: Mapped[str | None] = mapped_column(String(32))
    lower_reason_text: Mapped[str | None] = mapped_column(String(1000))
    probationary: Mapped[bool] = mapped_column(Boolean, default=False)
    shortcomings_fixed: Mapped[bool | None] = mapped_column(Boolean)
    units_target_met: Mapped[bool | None] = mapped_column(Boolean)
    #: rated after the meeting, at the next one (`results amend`)
    supplement: Mapped[bool] = mapped_column(Boolean, default=False)

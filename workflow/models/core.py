"""The core tables (units, campaigns, milestones, cycles, extensions, the audit log, the
outbox and the notice ledger) and the declarative `Base` every model of the package shares.

Instants are stored as timezone-aware UTC (`UTCDateTime` restores the zone SQLite drops).
The schema itself is created by the Alembic migrations in `workflow/migrations`; these
models must agree with them (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every instant must carry its time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, date: Date}

    if TYPE_CHECKING:
        # Every model is mapped to a plain table (never a join or a select), so Core
        # statements may take `Model.__table__` where they expect a Table.
        __table__: ClassVar[Table]


class Unit(Base):
    """A party organisation: province, district, base or cell (levels are configuration).

    `path` is the materialised path of ids (`/1/5/77/`), so "everything under X" is one
    indexed prefix query on both SQLite and PostgreSQL.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(512), index=True)
    depth: Mapped[int] = mapped_column(Integer)
    secretary: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    zalo_user_id: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    has_committee: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def ancestor_ids(self) -> list[int]:
        """The ids of the units above this one, the root first (read from `path`)."""
        return [int(p) for p in self.path.strip("/").split("/")[:-1]]


class Campaign(Base):
    """One year's review, created from a plan; `plan` keeps the plan document as issued."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64))
    rule_set: Mapped[str] = mapped_column(String(16))
    excellent_quota: Mapped[float] = mapped_column(Float)
    hierarchy: Mapped[str] = mapped_column(String(64))
    root_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    plan: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class Milestone(Base):
    """A (level, stage) deadline of a campaign: the plan's date resolved to a UTC instant.

    A cycle's deadline for a stage is its extension if it has one, else this. Keeping the
    plan's deadlines per level (a few dozen rows) rather than per unit keeps campaign
    creation and plan changes cheap and gives the scheduler one job per milestone.
    """

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("campaign_id", "level", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(32))
    stage_rank: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(8))
    plan_date: Mapped[date]
    due_at: Mapped[datetime]


class Cycle(Base):
    """One unit's review in one campaign: a state machine stored as a row.

    `stage_rank` is the position of `state` in the stage order and `stages_mask` has a bit
    per stage the unit goes through, so sweeps compare columns instead of parsing names.
    `version` is the optimistic lock: a concurrent change makes the second writer fail.
    """

    __tablename__ = "cycles"
    __table_args__ = (
        UniqueConstraint("campaign_id", "unit_id"),
        Index("ix_cycles_campaign_rank", "campaign_id", "stage_rank"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    stage_rank: Mapped[int] = mapped_column(Integer)
    stages_mask: Mapped[int] = mapped_column(Integer)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    state_changed_at: Mapped[datetime]
    created_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}


class DeadlineExtension(Base):
    """A unit's own deadline for a stage, replacing its level's milestone (audited)."""

    __tablename__ = "deadline_extensions"
    __table_args__ = (UniqueConstraint("cycle_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(32))
    stage_rank: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who changed what and why. Append-only: database triggers refuse UPDATE and DELETE.

    `reached_at` is when an advance's stage was really reached: the entry's time, or the
    `--at` of a report made on paper first. A column, not a key of `details`, because the
    monitor groups every advance of a campaign by its local day.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_unit_at", "unit_id", "at"),
        # partial in migration 0002 (WHERE action = 'cycle.reopen'): a dialect's option named
        # here would import that (slow to import) dialect in every process, even on SQLite
        Index("ix_audit_reopen", "cycle_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None]
    reached_at: Mapped[datetime | None]


class Notification(Base):
    """An outbox row: one message to one recipient on one channel.

    Sweeps insert these with a unique `dedup_key` and never send; dispatchers claim them
    (`pending` → `sending`), deliver, and record `sent`, `failed` (permanent) or, after the
    last retry, `dead`. A `sending` row whose `lease_until` has passed is claimed again.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_unit", "unit_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(255))
    # no foreign keys (migration 0003): checking three per row slowed every large sweep's insert
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    cycle_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: the peer's id for the message sent (Message-ID, Zalo's msg_id, the file written)
    reference: Mapped[str | None] = mapped_column(String(255))
    #: how long the last attempt took, rendering included
    duration_ms: Mapped[float | None] = mapped_column(Float)


class Notice(Base):
    """What one (cycle, stage) was told in one notice window, and by which day's bundle.

    The unique window key is what keeps a repeated sweep from writing twice; the day's
    bundle (`to_unit_id`, `bundle`, `day`) is kept to one a day by `BundleDay`; `shown_kind`
    and `repeat` are what the message said ("Quá hạn", or "Nhắc lại lần N" with N the earlier
    late notices of that stage really written). Rows of bundle `escalation` are the
    escalations written before `BundleDay`. No foreign keys, as in the outbox.
    """

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("cycle_id", "stage", "kind", "occurrence", name="uq_notices_window"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer)
    cycle_id: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))
    #: the window (`schedules.deadlines.Window`): reminder, late, repeat or escalation
    kind: Mapped[str] = mapped_column(String(16))
    occurrence: Mapped[int] = mapped_column(Integer)
    #: `notice` (the unit's own bundle) or `escalation` (its parent's)
    bundle: Mapped[str] = mapped_column(String(16))
    to_unit_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date]
    shown_kind: Mapped[str] = mapped_column(String(16))
    repeat: Mapped[int] = mapped_column(Integer)
    milestone_id: Mapped[int] = mapped_column(Integer)
    #: the extension whose deadline the notice stated, 0 for the milestone's own
    extension_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class BundleDay(Base):
    """A unit's bundle of one kind on one local day: one row per (campaign, kind, day, unit).

    The unique key is the rule "one message a day": a unit's own notices (`notice`) and,
    for a parent, the escalation of its late children (`escalation`). Escalations are kept
    here only, one row per parent and day, not per late (child, stage): the last
    `created_at` of a parent's escalations says which children's escalation instants it has
    heard of, so the next is owed only when another (child, stage) reaches its own; what it
    lists is read from the cycles. Key order: a sweep reads one day's units of one kind.
    """

    __tablename__ = "bundle_days"
    __table_args__ = (UniqueConstraint("campaign_id", "bundle", "day", "unit_id", name="uq_bundle_days"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer)
    #: `notice` (the unit's own) or `escalation` (of its late children)
    bundle: Mapped[str] = mapped_column(String(16))
    day: Mapped[date]
    #: the unit told
    unit_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]

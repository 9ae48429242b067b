"""What a secretary's link page shows and does, apart from HTTP.

The page shows one unit's stages with their deadlines in the plan's words and their state,
offers "Đã hoàn thành" for the next stage the unit owes, takes the cell's results at
`cell_met`, and lets the secretary undo the last step they reported within a day. Every
change goes through the same use cases as the CLI (`CycleService`, `ResultsService`).
The link may be forwarded, so nothing here reads a member's name or rating: only the counts
per level of stored results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from config.zone import DEFAULT_ZONE
from workflow.audit import record, stage_reached_at
from workflow.clock import Clock, days_late
from workflow.db import affected
from workflow.errors import Conflict, Problem, Refused
from workflow.links import Found
from workflow.models import AuditEntry, Campaign, Cycle, DeadlineExtension, Milestone, Unit, UnitResult
from workflow.notices import Due, extended_due
from workflow.results.levels import ALL
from workflow.stages import LABEL, RANK, classifies_members, next_stage, stages_of

#: how long a secretary may take back a step they reported through the link
UNDO_WINDOW = timedelta(hours=24)
#: the stages a secretary reports: `aggregated` is the parent's (or the office's) to record
REPORTED_BY_SECRETARY = frozenset({"reports_prepared", "committee_met", "cell_met", "forms_submitted"})
LEVEL_LABEL = {"HTXS": "Hoàn thành xuất sắc nhiệm vụ", "HTT": "Hoàn thành tốt nhiệm vụ",
               "HT": "Hoàn thành nhiệm vụ", "KHT": "Không hoàn thành nhiệm vụ",
               "NOT_CLASSIFIED": "Chưa xếp loại", "PENDING": "Chờ xếp loại (vắng mặt)"}
COUNT_COLUMN = {"HTXS": "count_htxs", "HTT": "count_htt", "HT": "count_ht", "KHT": "count_kht",
                "NOT_CLASSIFIED": "count_not_classified", "PENDING": "count_pending"}


def actor_for(unit: Unit) -> str:
    """The audit trail's name for a unit's secretary acting through the link."""
    return f"Bí thư {unit.code} (qua đường dẫn riêng)"


@dataclass
class StageRow:
    stage: str
    label: str
    deadline: str          # "trước ngày 20/11/2026", "" when the plan sets none
    extended: bool
    reached_on: date | None
    days_late: int | None  # late by this many days (reached late, or owed and past due)


@dataclass
class LinkView:
    """Everything the page shows for one unit (no member, no rating)."""

    unit: Unit
    campaign: Campaign
    state: str
    state_label: str
    rows: list[StageRow]
    next_stage: str | None = None
    earliest: date | None = None
    today: date | None = None
    takes_results: bool = False
    results: dict[str, int] | None = None
    results_valid: bool = True
    undo: str | None = None  # the stage that may be taken back
    levels: list[tuple[str, str]] = field(default_factory=list)


def local_day(instant: datetime) -> date:
    return instant.astimezone(DEFAULT_ZONE).date()


@dataclass(frozen=True)
class Offer:
    """The step "Đã hoàn thành" offers (None: nothing the secretary reports) and the days it
    may be reported for: from what the token resolved to, without another statement, so a
    POST checks it before its one write transaction."""

    stage: str | None = None
    earliest: date | None = None
    today: date | None = None


def offer(found: Found, now: datetime) -> Offer:
    cycle, campaign = found.cycle, found.campaign
    assert cycle is not None
    following = next_stage(cycle.state, cycle.stages_mask)
    if found.status != "ok" or following not in REPORTED_BY_SECRETARY:
        return Offer()
    return Offer(following, max(local_day(cycle.state_changed_at), local_day(campaign.created_at)),
                 local_day(now))


_MILESTONES = select(Milestone.stage, Milestone.rule, Milestone.plan_date, Milestone.due_at).where(
    Milestone.campaign_id == bindparam("campaign_id"), Milestone.level == bindparam("level"))
_EXTENSIONS = select(DeadlineExtension.stage, DeadlineExtension.due_at).where(
    DeadlineExtension.cycle_id == bindparam("cycle_id"))
_ENTRIES = select(AuditEntry).where(AuditEntry.cycle_id == bindparam("cycle_id")).order_by(AuditEntry.id)
_COUNTS = select(UnitResult.valid, *(getattr(UnitResult, c) for c in COUNT_COLUMN.values())).where(
    UnitResult.cycle_id == bindparam("cycle_id"))


def build_view(session: Session, found: Found, now: datetime) -> LinkView:
    """Gather the page of a unit whose link is valid and which has a cycle: four statements
    (deadlines, extensions, the cycle's audit trail, its results' counts) per page."""
    cycle, unit, campaign = found.cycle, found.unit, found.campaign
    assert cycle is not None
    planned = {m.stage: Due(m.due_at, m.rule, m.plan_date) for m in session.execute(
        _MILESTONES, {"campaign_id": campaign.id, "level": unit.level})}
    extended = dict(session.execute(_EXTENSIONS, {"cycle_id": cycle.id}).all())
    zone = ZoneInfo(campaign.timezone)
    entries = list(session.scalars(_ENTRIES, {"cycle_id": cycle.id}))
    rows = []
    for stage in stages_of(cycle.stages_mask)[1:]:
        deadline = extended_due(planned.get(stage), extended[stage], zone) if stage in extended \
            else planned.get(stage)
        due = deadline.at if deadline is not None else None
        phrase = str(deadline) if deadline is not None else ""
        reached = stage_reached_at(entries, stage)
        finish = reached or now
        late = days_late(due, finish) if due is not None and finish > due else None
        rows.append(StageRow(stage, LABEL[stage], phrase, stage in extended,
                             local_day(reached) if reached else None, late))
    view = LinkView(unit, campaign, cycle.state, LABEL[cycle.state], rows,
                    levels=[(level, LEVEL_LABEL[level]) for level in ALL])
    if found.status != "ok":
        return view
    offered = offer(found, now)
    view.next_stage, view.earliest, view.today = offered.stage, offered.earliest, offered.today
    view.takes_results = cycle.state == "cell_met" and classifies_members(cycle.stages_mask)
    stored = session.execute(_COUNTS, {"cycle_id": cycle.id}).first()
    if stored is not None:
        view.results = dict(zip(COUNT_COLUMN, stored[1:], strict=True))
        view.results_valid = stored.valid
    entry = undoable(session, cycle, now, entries)
    view.undo = entry.to_state if entry is not None else None
    return view


def reached_at(day: date, now: datetime) -> datetime:
    """The instant a stage reported for `day` counts from: now for today, else that day's end."""
    if day == local_day(now):
        return now
    return datetime.combine(day, time(23, 59, 59), DEFAULT_ZONE)


def check_day(offered: Offer, day: date) -> str | None:
    """Why `day` cannot be the day the next stage was done (one Vietnamese sentence), or None."""
    assert offered.today is not None and offered.earliest is not None
    if day > offered.today:
        return "Ngày hoàn thành không thể ở tương lai."
    if day < offered.earliest:
        return (f"Ngày hoàn thành không thể trước ngày {offered.earliest:%d/%m/%Y} "
                "(ngày của bước trước hoặc ngày bắt đầu đợt kiểm điểm).")
    return None


def undoable(session: Session, cycle: Cycle, now: datetime,
             entries: list[AuditEntry] | None = None) -> AuditEntry | None:
    """The step the secretary may take back: the cycle's last audit entry (the last of
    `entries`, its trail in order when already read), an advance made through the link less
    than `UNDO_WINDOW` ago, with the cycle still where it left it."""
    if entries is None:
        last = session.scalar(select(AuditEntry).where(AuditEntry.cycle_id == cycle.id)
                              .order_by(AuditEntry.id.desc()).limit(1))
    else:
        last = entries[-1] if entries else None
    if last is None or last.action != "cycle.advance" or last.to_state != cycle.state:
        return None
    via = (last.details or {}).get("via") or {}
    if via.get("channel") != "link" or now - last.at > UNDO_WINDOW:
        return None
    if cycle.state == "forms_submitted":
        children = session.scalar(select(Unit.id).where(Unit.parent_id == cycle.unit_id).limit(1))
        if children is not None:  # its children moved to `aggregated` with it
            return None
    return last


def undo(session: Session, found: Found, clock: Clock, via: dict[str, str]) -> str:
    """Take back the last step reported through the link (audited); return the stage undone."""
    cycle = session.scalar(select(Cycle).where(Cycle.id == found.cycle.id)) if found.cycle else None
    if cycle is None:
        raise Refused("link.no_cycle")
    entry = undoable(session, cycle, clock())
    if entry is None or entry.from_state is None:
        raise Refused("link.undo_too_late")
    before = session.scalar(select(AuditEntry).where(
        AuditEntry.cycle_id == cycle.id, AuditEntry.id < entry.id,
        AuditEntry.to_state == entry.from_state).order_by(AuditEntry.id.desc()).limit(1))
    since = (before.reached_at or before.at) if before is not None else cycle.created_at
    changed = affected(session.execute(
        update(Cycle).where(Cycle.id == cycle.id, Cycle.version == cycle.version)
        .values(state=entry.from_state, stage_rank=RANK[entry.from_state], state_changed_at=since,
                version=Cycle.version + 1).execution_options(synchronize_session=False)))
    if changed != 1:
        raise Conflict("link.undo_changed")
    record(session, clock, actor_for(found.unit), "cycle.undo", campaign_id=found.campaign.id,
           unit_id=found.unit.id, cycle_id=cycle.id, from_state=entry.to_state,
           to_state=entry.from_state, reason=Problem("audit.link_undone"),
           details={"undone_entry": entry.id, "via": via})
    return entry.to_state or ""


def result_counts(form: Any) -> str:
    """The counts form as the CSV `results submit` reads (checked by the same code)."""
    columns = ["HTXS", "HTT", "HT", "KHT", "not_classified", "pending"]
    values = [str(form.get(column) or "0").strip() for column in columns]
    return ",".join(columns) + "\n" + ",".join(values) + "\n"

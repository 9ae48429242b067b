"""The sweep: find every cycle owed a reminder, late notice, repeat or escalation, write the outbox.

Set-based: per campaign and per group of levels sharing a grace period, one
`INSERT … SELECT … ON CONFLICT (dedup_key) DO NOTHING` writes the unit notices (reminder,
late, repeat) for every enabled channel at once, and one more each writes the escalations
to parent secretaries and to the office. No row passes through Python, so 300,000 cycles
cost a few statements; and a second sweep, on this machine or another, writes nothing.

Which notice a (cycle, stage) is owed comes from `schedules.deadlines.notice_windows`: the
windows are ranges of deadlines, so the SQL only compares the deadline column with bound
instants. What a notice takes from its deadline alone (its kind, occurrence, label, deadline
text, plan date and days late) is rendered once per milestone in a small fenced subquery;
each row adds its unit's members to the JSON text (the same bytes `json_build_object` /
`json_object` wrote when each row built its whole object). Cycles with an extension get
those parts from the same expressions, on the row.

On PostgreSQL the notice statement is preceded by a `SELECT count(*)` of the rows it would
insert (the anti-join against the outbox included): PostgreSQL never runs an
`INSERT … SELECT` on parallel workers, but it runs that count on two, and when it is 0 — a
repeated or catch-up sweep, the usual case — the insert is skipped. ON CONFLICT still guards
the insert against a concurrent sweep. The escalation statements read a few hundred cycles
by index and take milliseconds: they are not counted first.

The sweep never sends; dispatchers deliver the rows (the outbox contract in the brief). The
caller owns the transaction: a sweep is all-or-nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from config.addresses import MOBILE_PREFIXES
from schedules.deadlines import Policy, Window, escalation_window, notice_windows, send_time
from workflow.campaigns import campaign_plan
from workflow.lookup import current_campaign
from workflow.models import Campaign, Cycle, DeadlineExtension, Milestone, Notification, Unit
from workflow.queries import LISTED_LATE_UNITS, owed_deadlines
from workflow.sqlrender import Dialect, integer, text
from workflow.stages import LABEL

KINDS = ("reminder", "late", "repeat", "escalation")
#: PostgreSQL memory per hash join during a sweep (SET LOCAL: this transaction only)
SWEEP_WORK_MEM = "64MB"
#: the channels an office address (an email) can be reached on
OFFICE_CHANNELS = ("email", "file")
OFFICE_CODE = "office"
OFFICE_NAME = "Ban Tổ chức"
NULL_TEXT = cast(null(), String)
NULL_INT = cast(null(), Integer)
OUTBOX_COLUMNS = ["dedup_key", "kind", "channel", "recipient", "campaign_id", "cycle_id", "unit_id",
                  "stage", "payload", "status", "attempts", "next_attempt_at", "created_at",
                  "updated_at"]


@dataclass
class SweepReport:
    """What one sweep did: cycles looked at, rows written per kind, how long it took."""

    at: datetime
    scanned: int = 0
    written: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.written.values())

    def as_log(self) -> dict[str, Any]:
        return {"event": "sweep", "at": self.at.isoformat(), "scanned": self.scanned,
                "written": self.total, **{k: self.written.get(k, 0) for k in KINDS},
                "duration_ms": round(self.duration_s * 1000, 1)}


def unit_link(public_url: str, code: ColumnElement[Any]) -> ColumnElement[Any]:
    """The public page of a unit, as SQL: `{public_url}/units/{code}`."""
    return text(public_url.rstrip("/") + "/units/") + code


def sweep(session: Session, now: datetime, channels: tuple[str, ...], public_url: str) -> SweepReport:
    """Write every notification owed at `now` into the outbox; return what was written."""
    started = time.perf_counter()
    report = SweepReport(now)
    dialect = Dialect(session.get_bind().dialect.name)
    if dialect.pg:  # hash joins over 300,000 cycles fit in memory instead of spilling to disk
        session.execute(sql_text(f"SET LOCAL work_mem = '{SWEEP_WORK_MEM}'"))
    campaign = current_campaign(session)
    if campaign is not None:
        _CampaignSweep(session, dialect, campaign, now, channels, public_url).run(report)
    report.duration_s = time.perf_counter() - started
    return report


class _CampaignSweep:
    """The statements of one sweep over one campaign."""

    def __init__(self, session: Session, dialect: Dialect, campaign: Campaign, now: datetime,
                 channels: tuple[str, ...], public_url: str) -> None:
        self.session, self.d, self.campaign, self.now = session, dialect, campaign, now
        self.channels, self.public_url = channels, public_url
        self.plan = campaign_plan(campaign)
        self.policy = Policy.from_plan(self.plan)
        self.year = campaign.year
        #: (due, stage rank) of the milestones of the group of levels being swept
        self.group_milestones: list[tuple[datetime, int]] = []

    def run(self, report: SweepReport) -> None:
        report.scanned += self.session.scalar(
            select(func.count()).select_from(Cycle).where(Cycle.campaign_id == self.campaign.id)) or 0
        milestones = self.session.execute(select(Milestone.level, Milestone.due_at, Milestone.stage_rank)
                                          .where(Milestone.campaign_id == self.campaign.id)).all()
        self.first_extension = self.session.scalar(
            select(func.min(DeadlineExtension.due_at))
            .join(Cycle, Cycle.id == DeadlineExtension.cycle_id)
            .where(Cycle.campaign_id == self.campaign.id))
        for levels in self._grace_groups():
            self.group_milestones = [(due, rank) for level, due, rank in milestones if level in levels]
            earliest = min([*(due for due, _ in self.group_milestones),
                            *([self.first_extension] if self.first_extension else [])], default=None)
            if earliest is None:
                continue
            owed = owed_deadlines(self.campaign).add_columns(
                Unit.code, Unit.name, Unit.level, Unit.secretary, Unit.email, Unit.phone,
                Unit.zalo_user_id, Unit.parent_id, Milestone.rule, Milestone.id.label("milestone_id"),
                DeadlineExtension.due_at.label("extended_to"),
            ).where(Milestone.level.in_(levels))
            windows = notice_windows(self.policy, levels[0], self.now, earliest)
            for kind, count in self._notices(owed, windows).items():
                report.written[kind] += count
            escalation = escalation_window(self.policy, levels[0], self.now)
            if earliest <= escalation.upto:
                shift = self.policy.grace_days.get(levels[0], 0) + self.policy.escalate_after_days
                report.written["escalation"] += self._escalations(owed, escalation, shift)

    # -- the parts ---------------------------------------------------------------------------

    def _due_by(self, owed: Any, bound: datetime) -> Any:
        """Keep the owed deadlines due by `bound`.

        When no extension is due that early, the milestone's own date decides too, which
        lets the database skip whole milestones; and a cycle past the last stage due by then
        owes none of them. That bound is a constant, so the planner reads from the rank
        statistics how few cycles are left (a few hundred late parents, say) and looks them
        up by index instead of joining every unit.
        """
        owed = owed.where(owed_due() <= self.d.instant(bound))
        if self.first_extension is None or self.first_extension > bound:
            ranks = [rank for due, rank in self.group_milestones if due <= bound]
            owed = owed.where(Milestone.due_at <= self.d.instant(bound),
                              Cycle.stage_rank < integer(max(ranks, default=0)))
        return owed

    def _grace_groups(self) -> list[list[str]]:
        """Group the plan's levels by grace period: each group shares its windows."""
        groups: dict[int, list[str]] = {}
        for level in self.plan.deadlines:
            groups.setdefault(self.policy.grace_days.get(level, 0), []).append(level)
        return list(groups.values())

    def _channel_table(self, names: tuple[str, ...]) -> Any:
        rows = [select(text(name).label("channel")) for name in names]
        return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("ch")

    def _send_at(self, channel: ColumnElement[Any], names: tuple[str, ...]) -> ColumnElement[Any]:
        return case(*((channel == name, self.d.instant(send_time(self.now, self.policy, name)))
                      for name in names), else_=self.d.instant(self.now))

    def _recipient(self, channel: ColumnElement[Any], unit: Any) -> ColumnElement[Any]:
        """The address of a unit on each channel (the outbox contract); NULL when it has none."""
        email = func.nullif(unit.email, "")
        mobile = and_(func.substr(unit.phone, 1, 2).in_(MOBILE_PREFIXES), func.length(unit.phone) == 10)
        by_channel = {"email": email, "zalo_zns": case((mobile, unit.phone), else_=None),  # ZNS: mobiles only
                      "zalo_oa": func.nullif(unit.zalo_user_id, ""), "webhook": unit.code,
                      "file": func.coalesce(email, unit.code)}
        return case(*((channel == name, by_channel[name]) for name in self.channels), else_=None)

    def _dedup_key(self, subject: ColumnElement[Any], stage: ColumnElement[Any],
                   kind: ColumnElement[Any], occurrence: ColumnElement[Any],
                   channel: ColumnElement[Any], recipient: ColumnElement[Any]) -> ColumnElement[Any]:
        sep = text(":")
        return (text(f"{self.year}:") + subject + sep + stage + sep + kind + sep
                + cast(occurrence, String) + sep + channel + sep + recipient)

    def _unwritten(self, key: ColumnElement[Any]) -> ColumnElement[bool]:
        """Skip rows already in the outbox before their payload is built (a cheap index probe).

        ON CONFLICT still guards against a concurrent sweep; this keeps a sweep that has
        nothing new to write close to the cost of finding the cycles.
        """
        return ~exists().where(Notification.__table__.c.dedup_key == key)

    def _anything_to_write(self, source: Any) -> bool:
        """Tell whether `source` has rows to insert, in a read-only query PostgreSQL runs in parallel.

        PostgreSQL never runs an `INSERT … SELECT` on parallel workers, but a plain
        `SELECT count(*)` of the same rows, the anti-join against the outbox included, runs on
        two; when it finds nothing, as a repeated or catch-up sweep usually does, the insert is
        skipped. SQLite has no parallel plans: the insert alone costs it as much.
        """
        if not self.d.pg:
            return True
        return bool(self.session.scalar(select(func.count()).select_from(source.subquery("s"))))

    def _insert(self, source: Any) -> int:
        statement = (self.d.insert(Notification.__table__).from_select(OUTBOX_COLUMNS, source)
                     .on_conflict_do_nothing(index_elements=["dedup_key"]))
        result = self.session.execute(statement.execution_options(preserve_rowcount=True))
        return max(result.rowcount, 0)

    def _stage_label(self, stage: ColumnElement[Any]) -> ColumnElement[Any]:
        return case(*((stage == s, text(label)) for s, label in LABEL.items()), else_=stage)

    def _plan_date(self, due: ColumnElement[Any], rule: ColumnElement[Any]) -> ColumnElement[Any]:
        """The day the plan names for a deadline: its local date, or the day before for `by`."""
        return self.d.local_date(due, self.policy.zone, self.now,
                                 shift_days=case((rule == "by", -1), else_=0))

    def _notice_parts(self, windows: list[Window], due: ColumnElement[Any], stage: ColumnElement[Any],
                      rule: ColumnElement[Any], level: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
        """What a notice takes from its deadline alone: its kind and occurrence (from the
        window that holds it; NULL when none does) and the payload's members `level` …
        `occurrence` (label, deadline text, plan date, days late), rendered as JSON text."""
        d = self.d

        def holds(w: Window) -> ColumnElement[bool]:
            upper = due <= d.instant(w.upto)
            return upper if w.after is None else and_(due > d.instant(w.after), upper)

        kind = case(*((holds(w), text(w.kind)) for w in windows), else_=None)
        occurrence = case(*((holds(w), integer(w.occurrence)) for w in windows), else_=None)
        members = d.json_members(
            level=level, stage=stage, stage_label=self._stage_label(stage), deadline=d.iso_utc(due),
            deadline_rule=rule, plan_date=self._plan_date(due, rule),
            days_before=case((kind == "reminder", occurrence), else_=None),
            days_late=case((kind.in_(("late", "repeat")), d.whole_days_since(due, self.now)), else_=None),
            occurrence=occurrence)
        return {"kind": kind, "occurrence": occurrence, "members": members}

    def _milestone_parts(self, windows: list[Window]) -> Any:
        """`_notice_parts` of each milestone of the campaign, a few rows rendered once.

        Joined on the milestone's id, so the planner's estimates of the big join stay those
        of the milestones table (a join on (level, stage, deadline) looked like a few dozen
        rows and got nested loops). Fenced (`Dialect.fenced`), so the database does not
        inline the rendering into every row.
        """
        ms = Milestone.__table__
        parts = self._notice_parts(windows, ms.c.due_at, ms.c.stage, ms.c.rule, ms.c.level)
        rendered = select(ms.c.id, *(value.label(name) for name, value in parts.items())) \
            .where(ms.c.campaign_id == self.campaign.id)
        return self.d.fenced(rendered).subquery("mp")

    def _notices(self, owed: Any, windows: list[Window]) -> Counter[str]:
        """Insert the reminder, late and repeat notices owed now; return the count per kind.

        A deadline's parts come from its milestone's row (`_milestone_parts`), or, for the few
        cycles with an extension, are rendered on the row by the same expressions. On
        PostgreSQL a count of the rows to insert runs first (`_anything_to_write`).
        """
        d = self.d
        o = self._due_by(owed, max(w.upto for w in windows)).subquery("o")
        mp = self._milestone_parts(windows)
        extended = self._notice_parts(windows, o.c.due_at, o.c.stage, o.c.rule, o.c.level)

        def part(name: str) -> ColumnElement[Any]:
            return case((o.c.extended_to.is_(None), mp.c[name]), else_=extended[name])

        ch = self._channel_table(self.channels)
        n = (select(o.c.cycle_id, o.c.unit_id, o.c.stage, o.c.code, o.c.name, o.c.secretary,
                    part("kind").label("kind"), part("occurrence").label("occurrence"),
                    part("members").label("members"), ch.c.channel,
                    self._recipient(ch.c.channel, o.c).label("recipient"))
             .select_from(o).join(mp, mp.c.id == o.c.milestone_id).join(ch, true())).subquery("n")
        payload = d.json_join(
            d.json_members(year=integer(self.year), unit_code=n.c.code, unit_name=n.c.name),
            n.c.members,
            d.json_members(secretary=n.c.secretary, link=unit_link(self.public_url, n.c.code)))
        key = self._dedup_key(n.c.code, n.c.stage, n.c.kind, n.c.occurrence, n.c.channel, n.c.recipient)
        source = select(
            key, n.c.kind, n.c.channel, n.c.recipient, integer(self.campaign.id), n.c.cycle_id,
            n.c.unit_id, n.c.stage, payload, text("pending"), integer(0),
            self._send_at(n.c.channel, self.channels), d.instant(self.now), d.instant(self.now),
        ).where(n.c.kind.is_not(None), n.c.recipient.is_not(None), self._unwritten(key))
        if not self._anything_to_write(source):
            return Counter()
        statement = (d.insert(Notification.__table__).from_select(OUTBOX_COLUMNS, source)
                     .on_conflict_do_nothing(index_elements=["dedup_key"])
                     .returning(Notification.__table__.c.kind))
        return Counter(self.session.execute(statement).scalars())

    def _escalations(self, owed: Any, window: Window, shift_days: int) -> int:
        """Insert one escalation per (parent or office, stage, day) listing its late children.

        A message lists at most `LISTED_LATE_UNITS` of them, the latest first, and counts
        them all (`late_count`): the office of a late province would otherwise get one
        message of 300,000 units, built in memory (by SQLite, in this process) and mailed.
        """
        d = self.d
        o = self._due_by(owed, window.upto).add_columns(
            d.local_date(owed_due(), self.policy.zone, self.now, shift_days, "compact")
            .label("esc_day")).subquery("o")
        written = 0
        if "parent_secretary" in self.plan.late.escalate_to:
            parent = aliased(Unit)
            r = _ranked(o, o.c.parent_id, o.c.stage, o.c.esc_day)
            grouped = (
                select(parent.id.label("unit_id"), parent.code, parent.name, parent.level,
                       parent.secretary, parent.email, parent.phone, parent.zalo_user_id,
                       r.c.stage, r.c.esc_day, *self._late_units(r))
                .select_from(r).join(parent, parent.id == r.c.parent_id)
                .where(parent.active.is_(True))
                .group_by(parent.id, parent.code, parent.name, parent.level, parent.secretary,
                          parent.email, parent.phone, parent.zalo_user_id, r.c.stage, r.c.esc_day)
            ).subquery("g")
            written += self._insert_escalations(grouped, self.channels, office=False)
        office = self.plan.late.office_email
        office_channels = tuple(c for c in self.channels if c in OFFICE_CHANNELS)
        if "office" in self.plan.late.escalate_to and office and office_channels:
            r = _ranked(o, o.c.stage, o.c.esc_day)
            grouped = (
                select(NULL_INT.label("unit_id"), text(OFFICE_CODE).label("code"),
                       text(OFFICE_NAME).label("name"), NULL_TEXT.label("level"),
                       NULL_TEXT.label("secretary"), text(office).label("email"),
                       r.c.stage, r.c.esc_day, *self._late_units(r))
                .select_from(r).group_by(r.c.stage, r.c.esc_day)
            ).subquery("g")
            written += self._insert_escalations(grouped, office_channels, office=True)
        return written

    def _late_units(self, r: Any) -> list[ColumnElement[Any]]:
        """The aggregates of a group of late children: earliest deadline, listed units, count."""
        d = self.d
        late_unit = d.json_object(
            unit_code=r.c.code, unit_name=r.c.name, level=r.c.level, stage=r.c.stage,
            deadline=d.iso_utc(r.c.due_at), days_late=d.whole_days_since(r.c.due_at, self.now),
            secretary=r.c.secretary)
        return [func.min(r.c.due_at).label("due_at"),
                d.json_array_agg(late_unit).filter(r.c.listed <= LISTED_LATE_UNITS).label("late_units"),
                func.count().label("late_count")]

    def _insert_escalations(self, g: Any, channels: tuple[str, ...], office: bool) -> int:
        """Insert grouped escalations on each channel; the office is reached at its email."""
        d = self.d
        ch = self._channel_table(channels)
        recipient = g.c.email if office else self._recipient(ch.c.channel, g.c)
        e = select(g, ch.c.channel, recipient.label("recipient")).select_from(g) \
            .join(ch, true()).subquery("e")
        payload = d.json_object(
            year=integer(self.year), unit_code=e.c.code, unit_name=e.c.name, level=e.c.level,
            stage=e.c.stage, stage_label=self._stage_label(e.c.stage),
            deadline=d.iso_utc(e.c.due_at), deadline_rule=NULL_TEXT, plan_date=NULL_TEXT,
            days_before=NULL_INT, days_late=d.whole_days_since(e.c.due_at, self.now),
            occurrence=integer(1), secretary=e.c.secretary,
            link=text(self.public_url.rstrip("/") + "/late") if office else unit_link(self.public_url, e.c.code),
            late_units=d.json_value(e.c.late_units), late_count=e.c.late_count,
        )
        key = self._dedup_key(e.c.code, e.c.stage, text("escalation"), e.c.esc_day, e.c.channel,
                              e.c.recipient)
        source = select(
            key, text("escalation"), e.c.channel, e.c.recipient, integer(self.campaign.id), NULL_INT,
            e.c.unit_id, e.c.stage, payload, text("pending"), integer(0),
            self._send_at(e.c.channel, channels), d.instant(self.now), d.instant(self.now),
        ).where(e.c.recipient.is_not(None), self._unwritten(key))
        return self._insert(source)


def _ranked(o: Any, *group: ColumnElement[Any]) -> Any:
    """`o` with each row's place in its group (`listed`), the latest deadline first."""
    listed = func.row_number().over(partition_by=group, order_by=(o.c.due_at, o.c.code))
    return select(o, listed.label("listed")).subquery("r")


def owed_due() -> ColumnElement[Any]:
    """The deadline expression of `workflow.queries.owed_deadlines` (extension, else milestone)."""
    return func.coalesce(DeadlineExtension.due_at, Milestone.due_at)

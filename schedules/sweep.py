"""The sweep: find what every unit is owed now and write one message per recipient, channel, day.

Two steps, each set-based (no owed row passes through Python), in the caller's transaction:

1. **Notices.** Per campaign and group of levels sharing a grace period, one
   `INSERT … SELECT … ON CONFLICT DO NOTHING` records in the notice ledger (`notices`) each
   (cycle, stage) whose reminder, late or repeat window holds now and was not yet told in
   that window. Each recipient's bundle of the day is a row of `bundle_days` (unique per
   campaign, kind, day and unit): a unit that already got today's bundle of that kind gets
   nothing new today; what it is owed waits for tomorrow's, if still owed. A parent is owed
   an escalation, recorded there only, when one of its (child, stage) pairs reached its
   escalation instant since the parent's last escalation; it then hears of every pair late
   past that instant, read from the cycles. A late window is shown as "late" when no late
   notice of that stage was ever written, else as "Nhắc lại lần N" with N the late notices
   written before — never the window's number; that count is probed in the ledger's window
   index for the rows owed now only, so a sweep that owes nothing reads none.
2. **Bundles.** The ledger rows this sweep wrote (past the highest id read before it) and
   the late pairs under the parents it escalated are grouped per recipient unit into one
   outbox row per channel (`{year}:{unit}:{notice|escalation}:{YYYYMMDD}:{channel}:{recipient}`),
   its payload the unit's fields plus one item per stage. What an item says about its
   deadline is a `workflow.notices.DeadlineItem` built in Python once per milestone (and
   per extension), its fields typed columns of a small table joined by id; the database
   builds each item and the payload around them with its own JSON functions
   (`Dialect.json_object`, `json_array_agg`), never from text joined by hand.
   A simulated season (`payloads=False`) writes the rows without payloads.

Which window a (cycle, stage) is in comes from `schedules.deadlines.notice_windows`: ranges
of deadlines, so the SQL compares the deadline column with bound instants, once per
milestone in a fenced subquery (`_milestone_windows`), on the row for the few extensions.

The ledger is written through a staged insert (`Dialect.insert_staged`): the owed notices
are selected into a temporary table, probing the ledger as it was, then inserted from it, so
no statement probes the table it is writing. When no ledger row was written — a repeated or
catch-up sweep, the usual case — no bundle is looked for. The office hears of late units in
its daily digest (`notifiers.digest`), not here.

The sweep never sends; dispatchers deliver the rows (the outbox contract in the README).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from config.addresses import MOBILE_PREFIXES
from schedules.deadlines import Policy, Window, escalation_window, notice_windows, send_time
from workflow.campaigns import campaign_plan
from workflow.lookup import current_campaign
from workflow.models import BundleDay, Campaign, Cycle, DeadlineExtension, Milestone, Notice, Notification, Unit
from workflow.notices import BUNDLED_KINDS, DeadlineItem, plan_day
from workflow.queries import LISTED_LATE_UNITS, owed_deadlines, owed_due
from workflow.sqlrender import Dialect, integer, string
from workflow.stages import RANK

#: the kinds of a unit's own notices (the others are escalations, its parent's)
NOTICE_KINDS = BUNDLED_KINDS[:3]
#: PostgreSQL memory per hash join during a sweep (SET LOCAL: this transaction only)
SWEEP_WORK_MEM = "64MB"
OUTBOX_COLUMNS = ["dedup_key", "kind", "channel", "recipient", "campaign_id", "cycle_id", "unit_id",
                  "stage", "payload", "status", "attempts", "next_attempt_at", "created_at",
                  "updated_at"]
NOTICE_COLUMNS = ["campaign_id", "cycle_id", "stage", "kind", "occurrence", "bundle", "to_unit_id",
                  "day", "shown_kind", "repeat", "milestone_id", "extension_id", "created_at"]
BUNDLE_DAY_COLUMNS = ["campaign_id", "bundle", "day", "unit_id", "created_at"]
NT = Notice.__table__
BD = BundleDay.__table__
#: the keys of an item's deadline (`DeadlineItem`), and those of them that are whole days
ITEM_FIELDS = tuple(f.name for f in fields(DeadlineItem))
DAY_COUNTS = ("days_late", "days_left")


@dataclass
class SweepReport:
    """What one sweep did: cycles looked at, messages written per kind, how long it took.

    `written` counts outbox rows (bundles) by the kind of their most urgent item;
    `noticed` counts the (cycle, stage) notices those bundles carry.
    """

    at: datetime
    scanned: int = 0
    written: Counter[str] = field(default_factory=Counter)
    noticed: int = 0
    duration_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.written.values())

    def as_log(self) -> dict[str, Any]:
        return {"event": "sweep", "at": self.at.isoformat(), "scanned": self.scanned,
                "written": self.total, **{k: self.written.get(k, 0) for k in BUNDLED_KINDS},
                "notices": self.noticed, "duration_ms": round(self.duration_s * 1000, 1)}


def unit_link(public_url: str, code: ColumnElement[Any]) -> ColumnElement[Any]:
    """The public page of a unit, as SQL: `{public_url}/units/{code}`."""
    return string(public_url.rstrip("/") + "/units/") + code


def sweep(session: Session, now: datetime, channels: tuple[str, ...], public_url: str, *,
          payloads: bool = True) -> SweepReport:
    """Write every notice owed at `now` and today's bundles into the outbox; return what was written.

    `payloads=False` writes each bundle's row with an empty payload (`{}`): for a season
    simulated and rolled back (`schedules.season`), which counts and lists rows but never
    renders one, and would otherwise spend most of its time writing JSON nobody reads.
    """
    started = time.perf_counter()
    report = SweepReport(now)
    dialect = Dialect.of(session)
    # hash joins over 300,000 cycles fit in memory instead of spilling to disk
    dialect.set_work_mem(session, SWEEP_WORK_MEM)
    # no JIT compilation: the statements' costs call for it, and compiling them took
    # longer than running them (5 s of a 300,000-cycle repeated sweep's 9)
    dialect.no_jit(session)
    campaign = current_campaign(session)
    if campaign is not None:
        _CampaignSweep(session, dialect, campaign, now, channels, public_url, payloads).run(report)
    report.duration_s = time.perf_counter() - started
    return report


class _CampaignSweep:
    """The statements of one sweep over one campaign."""

    def __init__(self, session: Session, dialect: Dialect, campaign: Campaign, now: datetime,
                 channels: tuple[str, ...], public_url: str, payloads: bool) -> None:
        self.session, self.d, self.campaign, self.now = session, dialect, campaign, now
        self.channels, self.public_url, self.payloads = channels, public_url, payloads
        self.plan = campaign_plan(campaign)
        self.policy = Policy.from_plan(self.plan)
        self.year = campaign.year
        self.day: date = now.astimezone(self.policy.zone).date()
        #: (due, stage rank) of the milestones of the group of levels being swept
        self.group_milestones: list[tuple[datetime, int]] = []

    def run(self, report: SweepReport) -> None:
        report.scanned += self.session.scalar(
            select(func.count()).select_from(Cycle).where(Cycle.campaign_id == self.campaign.id)) or 0
        milestones = self.session.execute(select(Milestone).where(Milestone.campaign_id == self.campaign.id)
                                          ).scalars().all()
        if not milestones:
            return
        self.first_extension = self.session.scalar(
            select(func.min(DeadlineExtension.due_at))
            .join(Cycle, Cycle.id == DeadlineExtension.cycle_id)
            .where(Cycle.campaign_id == self.campaign.id))
        # the ledger rows past these ids are this sweep's (their `created_at` says so too)
        self.notices_before = self.session.scalar(select(func.max(NT.c.id))) or 0
        self.bundles_before = self.session.scalar(select(func.max(BD.c.id))) or 0
        notices, late = 0, []
        escalating = "parent_secretary" in self.plan.late.escalate_to
        for levels in self._grace_groups():
            self.group_milestones = [(m.due_at, m.stage_rank) for m in milestones if m.level in levels]
            earliest = min([*(due for due, _ in self.group_milestones),
                            *([self.first_extension] if self.first_extension else [])], default=None)
            if earliest is None:
                continue
            owed = owed_deadlines(self.campaign).add_columns(
                Unit.level, Unit.parent_id, Milestone.rule, Milestone.id.label("milestone_id"),
                DeadlineExtension.due_at.label("extended_to"),
                func.coalesce(DeadlineExtension.id, 0).label("extension_id"),
            ).where(Milestone.level.in_(levels))
            notices += self._notices(owed, notice_windows(self.policy, levels[0], self.now, earliest))
            escalation = escalation_window(self.policy, levels[0], self.now)
            if earliest <= escalation.upto and escalating:
                days = self.policy.grace_days.get(levels[0], 0) + self.policy.escalate_after_days
                late.append((self._due_by(owed, escalation.upto), days))
        if notices:
            self._record_bundle_days("notice", NT.c.to_unit_id, *self._this_sweeps_notices())
        escalations = self._escalations(late) if late else 0
        report.noticed += notices + escalations
        if notices or escalations:
            parts = self._deadline_items(milestones)
            if notices:
                report.written.update(self._bundles("notice", parts, self._told_notices()))
            if escalations:  # every late child under the parents escalated now: the first day,
                # all of them, which the planner takes for a handful (`Dialect.hash_joins`)
                with self.d.hash_joins(self.session):
                    report.written.update(self._bundles("escalation", parts, self._told_escalations(late)))

    # -- step 1: the notice ledger -------------------------------------------------------------

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

    def _window_of(self, windows: list[Window], due: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
        """The kind and occurrence of the window that holds a deadline (NULL when none does)."""
        d = self.d

        def holds(w: Window) -> ColumnElement[bool]:
            upper = due <= d.instant(w.upto)
            return upper if w.after is None else and_(due > d.instant(w.after), upper)

        return {"kind": case(*((holds(w), string(w.kind)) for w in windows), else_=None),
                "occurrence": case(*((holds(w), integer(w.occurrence)) for w in windows), else_=None)}

    def _milestone_windows(self, windows: list[Window]) -> Any:
        """`_window_of` each milestone of the campaign, a few rows computed once.

        Joined on the milestone's id, so the planner's estimates of the big join stay those
        of the milestones table. Fenced (`Dialect.fenced`), so the database does not inline
        the CASE into every row.
        """
        ms = Milestone.__table__
        parts = self._window_of(windows, ms.c.due_at)
        rows = select(ms.c.id, *(value.label(name) for name, value in parts.items())) \
            .where(ms.c.campaign_id == self.campaign.id)
        return self.d.fenced(rows).subquery("mw")

    def _not_bundled_today(self, unit: ColumnElement[Any] | InstrumentedAttribute[Any],
                           bundle: str) -> ColumnElement[bool]:
        """The unit has no bundle of this kind today: one message a day, at most."""
        return ~exists().where(BD.c.campaign_id == self.campaign.id, BD.c.bundle == bundle, BD.c.day == self.day,
                               BD.c.unit_id == unit)

    def _not_told(self, cycle: ColumnElement[Any], stage: ColumnElement[Any], kinds: tuple[str, ...],
                  kind: ColumnElement[Any], occurrence: ColumnElement[Any]) -> ColumnElement[bool]:
        """This (cycle, stage) was not yet told in this window (a cheap probe of the unique key).

        `kinds`, the kinds `kind` can be, is redundant with it, but lets PostgreSQL, when it
        hashes the ledger for an anti-join, hash only the notices of those kinds: half of the
        rows of a national first day. It is a column of the key, so a probe still reads the
        index only.
        """
        return ~exists().where(NT.c.cycle_id == cycle, NT.c.stage == stage, NT.c.kind == kind,
                               NT.c.occurrence == occurrence, NT.c.kind.in_(kinds))

    def _ledger_rows(self, **values: ColumnElement[Any]) -> Any:
        """A SELECT of ledger rows, its columns named and ordered as `NOTICE_COLUMNS`."""
        values |= {"campaign_id": integer(self.campaign.id), "day": self.d.day(self.day),
                   "created_at": self.d.instant(self.now)}
        return select(*(values[name].label(name) for name in NOTICE_COLUMNS))

    def _record(self, source: Any) -> int:
        """Record the notices `source` selects (`_ledger_rows`); return how many were new."""
        return self.d.insert_staged(self.session, NT, NOTICE_COLUMNS, source,
                                    ["cycle_id", "stage", "kind", "occurrence"])

    def _late_told(self, cycle: ColumnElement[Any], stage: ColumnElement[Any]) -> ColumnElement[Any]:
        """How many late notices this (cycle, stage) was already written: N of "Nhắc lại lần N".

        A probe of the window key's index per row owed, not an aggregate over the campaign's
        ledger joined to every owed row: a repeated sweep, which owes nothing, then reads none.
        """
        return (select(func.count()).where(NT.c.cycle_id == cycle, NT.c.stage == stage,
                                           NT.c.kind.in_(("late", "repeat")))
                .scalar_subquery())

    def _notices(self, owed: Any, windows: list[Window]) -> int:
        """Record the reminder, late and repeat notices owed now; return how many.

        A deadline's window comes from its milestone's row (`_milestone_windows`), or, for the
        few cycles with an extension, from the same expressions on the row.
        """
        o = self._due_by(owed, max(w.upto for w in windows)).subquery("o")
        mw = self._milestone_windows(windows)
        extended = self._window_of(windows, o.c.due_at)

        def part(name: str) -> ColumnElement[Any]:
            return case((o.c.extended_to.is_(None), mw.c[name]), else_=extended[name])

        n = (select(o.c.cycle_id, o.c.unit_id, o.c.stage, o.c.milestone_id, o.c.extension_id,
                    part("kind").label("kind"), part("occurrence").label("occurrence"))
             .select_from(o).join(mw, mw.c.id == o.c.milestone_id)).subquery("n")
        repeat = case((n.c.kind == "reminder", integer(0)), else_=self._late_told(n.c.cycle_id, n.c.stage))
        # fenced: the count is probed once per row owed, not once more for what the row shows
        w = self.d.fenced(select(n, repeat.label("repeat")).where(
            n.c.kind.is_not(None), self._not_told(n.c.cycle_id, n.c.stage, NOTICE_KINDS, n.c.kind, n.c.occurrence),
            self._not_bundled_today(n.c.unit_id, "notice"))).subquery("w")
        shown = case((w.c.kind == "reminder", string("reminder")), (w.c.repeat == 0, string("late")),
                     else_=string("repeat"))
        source = self._ledger_rows(
            cycle_id=w.c.cycle_id, stage=w.c.stage, kind=w.c.kind, occurrence=w.c.occurrence,
            bundle=string("notice"), to_unit_id=w.c.unit_id, shown_kind=shown, repeat=w.c.repeat,
            milestone_id=w.c.milestone_id, extension_id=w.c.extension_id,
        ).select_from(w)
        return self._record(source)

    def _record_bundle_days(self, bundle: str, unit_id: ColumnElement[Any], *where: ColumnElement[bool]) -> int:
        """Record that each unit `unit_id` selects (rows filtered by `where`) has its bundle of
        this kind today; return how many had none yet."""
        source = select(integer(self.campaign.id).label("campaign_id"), string(bundle).label("bundle"),
                        self.d.day(self.day).label("day"), unit_id.label("unit_id"),
                        self.d.instant(self.now).label("created_at")).distinct().where(*where)
        return self.d.insert_staged(self.session, BD, BUNDLE_DAY_COLUMNS, source, BUNDLE_DAY_COLUMNS[:4])

    def _this_sweeps_notices(self) -> tuple[ColumnElement[bool], ...]:
        return (NT.c.id > self.notices_before, NT.c.created_at == self.d.instant(self.now),
                NT.c.bundle == "notice", NT.c.campaign_id == self.campaign.id)

    def _escalations(self, late: list[tuple[Any, int]]) -> int:
        """Record the parents owed an escalation now, one row per parent and day; return how many.

        `late` holds, per group of levels, the owed (child, stage) pairs past their
        escalation instant and how many days after its deadline that instant falls. A
        parent is owed one when such a pair reached its instant after the parent's last
        escalation (or the parent never had one), and it has had none today: what reaches
        its instant later today waits for tomorrow's. Then it hears of every pair late now
        (`_told_escalations`), so a pair is never the reason for two escalations.

        The parents not yet escalated today (of the units, the few percent that have
        children) are read first and written into the statement as constants: the planner
        then knows how few they are, and a sweep repeated the same day looks only at the
        children of those that had no late child (as a subquery, it was estimated as every
        parent and the statement read every late pair, 1.1–1.4 s at 300,000 cycles).
        """
        parent = aliased(Unit)
        parents = select(Unit.parent_id).where(Unit.parent_id.is_not(None)).distinct().subquery("parents")
        waiting = list(self.session.scalars(
            select(parent.id).join(parents, parents.c.parent_id == parent.id)
            .where(parent.active.is_(True), self._not_bundled_today(parent.id, "escalation"))))
        if not waiting:
            return 0
        ids: BindParameter[list[int]] = bindparam("waiting", waiting, expanding=True, literal_execute=True)
        told = (select(BD.c.unit_id, func.max(BD.c.created_at).label("last"))
                .where(BD.c.campaign_id == self.campaign.id, BD.c.bundle == "escalation")
                .group_by(BD.c.unit_id).subquery("told"))
        reached = []
        for pairs, days in late:
            o = pairs.subquery("o")
            reached.append(select(o.c.parent_id.label("unit_id")).select_from(o)
                           .outerjoin(told, told.c.unit_id == o.c.parent_id)
                           .where(o.c.parent_id.in_(ids),
                                  or_(told.c.last.is_(None), self.d.days_later(o.c.due_at, days) > told.c.last)))
        r = (union(*reached) if len(reached) > 1 else reached[0].distinct()).subquery("r")
        return self._record_bundle_days("escalation", r.c.unit_id, true())

    def _told_notices(self) -> Any:
        """The notices this sweep recorded, as the rows of the units' own bundles."""
        return (select(NT.c.to_unit_id, NT.c.cycle_id, NT.c.stage, NT.c.shown_kind, NT.c.repeat,
                       NT.c.milestone_id, NT.c.extension_id)
                .where(*self._this_sweeps_notices())).subquery("told")

    def _told_escalations(self, late: list[tuple[Any, int]]) -> Any:
        """Every (child, stage) late past its escalation instant under the parents escalated by this
        sweep, as the rows of their bundles."""
        pairs = [p.subquery(f"l{i}") for i, (p, _) in enumerate(late)]
        listed = union_all(*(select(p.c.parent_id, p.c.cycle_id, p.c.stage, p.c.milestone_id, p.c.extension_id)
                             for p in pairs)).subquery("l")
        escalated = select(BD.c.unit_id).where(
            BD.c.id > self.bundles_before, BD.c.created_at == self.d.instant(self.now),
            BD.c.bundle == "escalation", BD.c.campaign_id == self.campaign.id).subquery("e")
        return (select(listed.c.parent_id.label("to_unit_id"), listed.c.cycle_id, listed.c.stage,
                       string("escalation").label("shown_kind"), integer(0).label("repeat"),
                       listed.c.milestone_id, listed.c.extension_id)
                .join(escalated, escalated.c.unit_id == listed.c.parent_id)).subquery("told")

    # -- step 2: the day's bundles -------------------------------------------------------------

    def _deadline_items(self, milestones: Sequence[Milestone]) -> Any:
        """Every deadline of the campaign as a `DeadlineItem`, built in Python, as a small table.

        One row per milestone (extension 0) and one per extension (with its milestone's rule),
        the item's fields as typed columns, and its urgency (most urgent first; the earlier
        stage wins a tie). A UNION of one-row SELECTs: SQLite names no columns of a VALUES list.
        """
        zone, now = self.policy.zone, self.now
        rows = []
        for m in milestones:
            item = DeadlineItem.build(m.stage, m.due_at, m.rule, m.plan_date, now, zone)
            rows.append((m.id, 0, item))
        by_level_stage = {(m.level, m.stage): m for m in milestones}
        extensions = self.session.execute(
            select(DeadlineExtension.id, DeadlineExtension.stage, DeadlineExtension.due_at, Unit.level)
            .join(Cycle, Cycle.id == DeadlineExtension.cycle_id).join(Unit, Unit.id == Cycle.unit_id)
            .where(Cycle.campaign_id == self.campaign.id))
        for ext_id, stage, due, level in extensions:
            milestone = by_level_stage.get((level, stage))
            if milestone is None:
                continue
            item = DeadlineItem.build(stage, due, milestone.rule, plan_day(due, milestone.rule, zone), now, zone)
            rows.append((milestone.id, ext_id, item))
        return union_all(*(select(integer(m).label("milestone_id"), integer(e).label("extension_id"),
                                  *_item_columns(item), integer(_urgency(item)).label("urgency"))
                           for m, e, item in rows))

    def _channel_table(self, names: tuple[str, ...]) -> Any:
        rows = [select(string(name).label("channel")) for name in names]
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

    def _bundles(self, bundle: str, items: Any, told: Any) -> Counter[str]:
        """Insert today's bundles of one kind for the rows `told` (`_told_notices`, `_told_escalations`);
        count them by kind.

        Each recipient unit's notices are ranked (most urgent first): the first names the
        message (its kind, stage and deadline at the payload's top level, picked in the same
        GROUP BY as the items: a join of the ranked rows to themselves was quadratic on SQLite,
        which does not index a subquery), all of them are its items — for an escalation at
        most `LISTED_LATE_UNITS`, all counted (`late_count`), since the parent of a whole late
        province would otherwise get 300,000 of them.

        The payload is built by the database's JSON functions (`Dialect.json_object`,
        `json_array_agg`), never joined from text: an item is its deadline's columns
        (`_deadline_items`, joined by id) with the row's kind and count, the top level the
        first item's deadline (looked up again by id) with the unit's values.
        """
        d = self.d
        escalation = bundle == "escalation"
        # a unit's own items hold no value of their notice's row but its kind and count: each
        # distinct item is built once (`_shown_items`), not once per notice
        own = self.payloads and not escalation
        shown = self._shown_items(told, items) if own else items.subquery("parts")
        on = [shown.c.milestone_id == told.c.milestone_id, shown.c.extension_id == told.c.extension_id]
        if own:
            on += [shown.c.shown_kind == told.c.shown_kind, shown.c.repeat == told.c.repeat]
        child = aliased(Unit)
        # a unit's own items differ in stage, so in urgency; a parent's, ties broken by the
        # child's code compared byte by byte (as SQLite does; PostgreSQL's collation is slower)
        order = (shown.c.urgency.desc(), *([d.bytewise(child.code)] if escalation else []))
        rank = func.row_number().over(partition_by=told.c.to_unit_id, order_by=order).label("listed")
        ranked = (
            select(told.c.to_unit_id, told.c.cycle_id, told.c.shown_kind, told.c.repeat, told.c.milestone_id,
                   told.c.extension_id, *(shown.c[name] for name in (("stage", "item") if own else ITEM_FIELDS)),
                   child.code, child.name, child.level, child.secretary, rank)
            .select_from(told)
            # every notice has its item; an outer join keeps SQLite from reading this sweep's
            # notices once per item (a loop over the few items outside)
            .outerjoin(shown, and_(*on))
            .join(Cycle, Cycle.id == told.c.cycle_id).join(child, child.id == Cycle.unit_id)
        )
        if self.payloads and not d.pg:  # `Dialect.json_array_agg`: SQLite takes the items as they arrive
            ranked = ranked.order_by(told.c.to_unit_id, rank)
        r = ranked.subquery("r")
        if own:
            item = d.json_kept(r.c.item)
        else:  # built in the aggregate, so an escalation's items past the listed ones cost nothing
            item = d.json_object(**{name: r.c[name] for name in ITEM_FIELDS}, kind=r.c.shown_kind,
                                 repeat=r.c.repeat, unit_code=r.c.code, unit_name=r.c.name,
                                 level=r.c.level, secretary=r.c.secretary)  # the late child
        listed = d.json_array_agg(item, [r.c.listed])
        if escalation:
            listed = listed.filter(r.c.listed <= LISTED_LATE_UNITS)
        picked: dict[str, ColumnElement[Any]] = {"cycle_id": r.c.cycle_id, "stage": r.c.stage,
                                                 "shown_kind": r.c.shown_kind}
        rendered = [listed.label("listing"), func.count().label("listed_count")]
        if self.payloads:  # the first item's, for the payload's top level
            picked |= {"repeat": r.c.repeat, "milestone_id": r.c.milestone_id,
                       "extension_id": r.c.extension_id}
        grouped = (select(r.c.to_unit_id,
                          *(func.max(case((r.c.listed == 1, value), else_=None)).label(name)
                            for name, value in picked.items()),
                          *(rendered if self.payloads else []))
                   .group_by(r.c.to_unit_id)).subquery("g")
        unit = aliased(Unit)
        ch = self._channel_table(self.channels)
        b = (select(grouped, unit.id.label("unit_id"), unit.code, unit.name, unit.level, unit.secretary,
                    ch.c.channel, self._recipient(ch.c.channel, unit).label("recipient"))
             .select_from(grouped)
             .join(unit, unit.id == grouped.c.to_unit_id).join(ch, true())).subquery("b")
        top = items.subquery("top")
        payload = self._payload(b, top, escalation) if self.payloads else d.json_object()
        sep = string(":")
        key = (string(f"{self.year}:") + b.c.code + string(f":{bundle}:{self.day:%Y%m%d}:") + b.c.channel
               + sep + b.c.recipient)
        source = select(
            key, b.c.shown_kind, b.c.channel, b.c.recipient, integer(self.campaign.id),
            b.c.cycle_id if not escalation else _null_int(), b.c.unit_id, b.c.stage, payload,
            string("pending"), integer(0), self._send_at(b.c.channel, self.channels),
            d.instant(self.now), d.instant(self.now),
        ).select_from(b).where(b.c.recipient.is_not(None))
        if self.payloads:
            source = source.outerjoin(top, and_(top.c.milestone_id == b.c.milestone_id,
                                                top.c.extension_id == b.c.extension_id))
        statement = (d.insert(Notification.__table__).from_select(OUTBOX_COLUMNS, source)
                     .on_conflict_do_nothing(index_elements=["dedup_key"])
                     .returning(Notification.__table__.c.kind))
        return Counter(self.session.execute(statement).scalars())

    def _shown_items(self, told: Any, items: Any) -> Any:
        """Each distinct item the notices `told` (`_told_notices`) show — a deadline, a kind, a
        count — as a JSON object (`item`) with its stage and urgency, keyed by those four.

        A national first day shows 900,000 items of a few distinct ones: built once each,
        they are only gathered per recipient; an object built per notice took most of the
        statement's aggregate.
        """
        parts = items.subquery("parts")
        distinct = (select(told.c.milestone_id, told.c.extension_id, told.c.shown_kind, told.c.repeat)
                    .distinct().subquery("distinct_items"))
        item = self.d.json_object(**{name: parts.c[name] for name in ITEM_FIELDS}, kind=distinct.c.shown_kind,
                                  repeat=distinct.c.repeat)
        return (select(distinct, parts.c.stage, parts.c.urgency, item.label("item")).select_from(distinct)
                .join(parts, and_(parts.c.milestone_id == distinct.c.milestone_id,
                                  parts.c.extension_id == distinct.c.extension_id))).subquery("shown")

    def _payload(self, b: Any, top: Any, escalation: bool) -> ColumnElement[Any]:
        """A bundle's payload: its first item's deadline (`top`), kind and count, the unit's
        values, then its items."""
        d = self.d
        listing = d.json_kept(b.c.listing)
        return d.json_object(
            **{name: top.c[name] for name in ITEM_FIELDS}, kind=b.c.shown_kind, repeat=b.c.repeat,
            year=self.year, campaign_id=self.campaign.id, unit_id=b.c.unit_id, unit_code=b.c.code,
            unit_name=b.c.name, level=b.c.level, secretary=b.c.secretary, day=self.day.isoformat(),
            link=unit_link(self.public_url, b.c.code),
            **({"late_units": listing, "late_count": b.c.listed_count} if escalation else {"items": listing}))


def _item_columns(item: DeadlineItem) -> list[ColumnElement[Any]]:
    """An item's deadline fields as typed constants, named as its keys."""
    return [cast(literal(value), Integer if name in DAY_COUNTS else String).label(name)
            for name, value in asdict(item).items()]


def _urgency(item: DeadlineItem) -> int:
    return item.urgency * 8 + (7 - RANK.get(item.stage, 0))


def _null_int() -> ColumnElement[Any]:
    return cast(null(), Integer)

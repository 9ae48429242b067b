"""A whole season, 1 November to 31 January, over the sample tree: the sweep at every step
writes exactly the bundles the pure arithmetic says are owed, nothing twice, across a restart.

The expected messages come from `schedules.deadlines` applied unit by unit in Python (an
oracle independent of the SQL windows), with the bundling rules written out plainly: a
(cycle, stage) is told once per window; a recipient gets at most one bundle of each kind a
local day; "Nhắc lại lần N" is the number of late notices of that stage written before; a
parent is escalated when a child's (cycle, stage) reached its escalation instant since the
parent's last escalation, and then hears of every (child, stage) past its escalation instant.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from schedules.deadlines import Policy, escalation_at, escalation_owed, owed_notice
from schedules.sweep import sweep
from tests.helpers import run, seeded, submit_results
from workflow.campaigns import campaign_plan
from workflow.models import Campaign, Cycle, DeadlineExtension, Milestone, Notification, Unit
from workflow.stages import BIT, RANK

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
START, END = datetime(2026, 11, 1, tzinfo=HCM), datetime(2027, 1, 31, 12, tzinfo=HCM)
#: the service is down from the evening before the cells' forms deadline (20/11 00:00) until
#: mid-morning; it restarts twice in a row (a crash loop) at 10:30 and 10:31
DOWN = (datetime(2026, 11, 19, 18, tzinfo=HCM), datetime(2026, 11, 20, 10, 30, tzinfo=HCM))
#: what units report during the season: (when, unit, stage)
PROGRESS = [
    ("2026-11-08T10:00", "GL-TS-TH", "reports_prepared"),
    ("2026-11-15T10:00", "GL-TS-TH", "cell_met"),
    ("2026-11-19T10:00", "GL-TS-TH", "forms_submitted"),
    ("2026-11-12T10:00", "GL-PC-THPT2", "reports_prepared"),
]


def _steps() -> list[datetime]:
    """Every 12 hours, minus the outage, plus the two restarts."""
    steps, at = [], START
    while at <= END:
        if not DOWN[0] <= at < DOWN[1]:
            steps.append(at)
        at += timedelta(hours=12)
    steps += [DOWN[1], DOWN[1] + timedelta(minutes=1)]
    return sorted(steps)


class Oracle:
    """What the sweep must have written so far, rebuilt step by step from the pure arithmetic."""

    def __init__(self) -> None:
        self.told: set[tuple[int, str, str, int]] = set()
        self.late_told: Counter[tuple[int, str]] = Counter()
        self.bundled: set[tuple[int, str, date]] = set()
        #: parent unit id -> when it was last escalated
        self.escalated: dict[int, datetime] = {}

    def step(self, session, now: datetime) -> dict[str, set[tuple[str, str, int | str]]]:
        """Advance to `now`; return the bundles owed now: key -> {(stage, kind, repeat)} for a
        unit's own, {(child, stage, "escalation")} for a parent's."""
        campaign = session.scalars(select(Campaign)).one()
        plan = campaign_plan(campaign)
        policy = Policy.from_plan(plan)
        day = now.astimezone(HCM).date()
        units = {u.id: u for u in session.scalars(select(Unit))}
        milestones = list(session.scalars(select(Milestone)))
        extensions = {(e.cycle_id, e.stage): e.due_at for e in session.scalars(select(DeadlineExtension))}
        new: dict[tuple[int, str], set] = {}
        told_now = set()
        late_children: dict[int, set] = {}
        reached: set[int] = set()
        for cycle in session.scalars(select(Cycle).order_by(Cycle.id)):
            unit = units[cycle.unit_id]
            if not unit.active:
                continue
            for m in milestones:
                if m.level != unit.level or not cycle.stages_mask & BIT[m.stage] \
                        or cycle.stage_rank >= RANK[m.stage]:
                    continue
                due = extensions.get((cycle.id, m.stage), m.due_at)
                owed = owed_notice(due, policy, unit.level, now)
                window = (cycle.id, m.stage, owed.kind, owed.occurrence) if owed else None
                if window and window not in self.told and (unit.id, "notice", day) not in self.bundled:
                    told_now.add(window)
                    earlier = self.late_told[(cycle.id, m.stage)]
                    if owed.kind == "reminder":
                        item = (m.stage, "reminder", 0)
                    else:
                        item = (m.stage, "late" if earlier == 0 else "repeat", earlier)
                    new.setdefault((unit.id, "notice"), set()).add(item)
                parent = units.get(unit.parent_id)
                if parent is not None and parent.active and escalation_owed(due, policy, unit.level, now):
                    late_children.setdefault(parent.id, set()).add((unit.code, m.stage, "escalation"))
                    last = self.escalated.get(parent.id)
                    if last is None or escalation_at(due, policy, unit.level) > last:
                        reached.add(parent.id)
        for parent_id in reached:
            if (parent_id, "escalation", day) not in self.bundled:
                new[(parent_id, "escalation")] = late_children[parent_id]
                self.escalated[parent_id] = now
        self.told |= told_now
        for cycle_id, stage, kind, _ in told_now:
            if kind in ("late", "repeat"):
                self.late_told[(cycle_id, stage)] += 1
        self.bundled |= {(unit_id, bundle, day) for unit_id, bundle in new}
        return {f"2026:{units[u].code}:{bundle}:{day:%Y%m%d}:file:{units[u].email or units[u].code}": items
                for (u, bundle), items in new.items()}


def _said(row: Notification) -> set[tuple[str, str, int | str]]:
    if row.kind == "escalation":
        return {(u["unit_code"], u["stage"], "escalation") for u in row.payload["late_units"]}
    return {(i["stage"], i["kind"], i["repeat"]) for i in row.payload["items"]}


def test_a_season_writes_exactly_what_is_owed_and_nothing_twice(db):
    seeded(db.url)
    extended = run(db.url, "deadline", "extend", "GL-TS-T2", "forms_submitted", "2026-11-27",
                   "--reason", "thôn ở xa", now="2026-11-02T09:00")
    assert extended.exit_code == 0, extended.stderr
    progress = sorted((datetime.fromisoformat(at).replace(tzinfo=HCM), code, stage)
                      for at, code, stage in PROGRESS)
    written: set[str] = set()
    per_day: Counter[str] = Counter()
    oracle = Oracle()
    for now in _steps():
        while progress and progress[0][0] <= now:
            at, code, stage = progress.pop(0)
            if stage == "forms_submitted":  # the results gate wants the unit's results first
                submit_results(db.url, code, now=at.isoformat())
            moved = run(db.url, "advance", code, "--to", stage, now=at.isoformat())
            assert moved.exit_code == 0, moved.stderr
        with db.session() as s:
            expected = oracle.step(s, now)
        with db.session(write=True) as s:
            sweep(s, now, ("file",), "https://kiemdiem.example.vn")
        with db.session() as s:
            rows = {r.dedup_key: r for r in s.scalars(select(Notification))}
        new = {key: _said(rows[key]) for key in set(rows) - written}
        assert new == expected, f"at {now}"
        written = set(rows)
        per_day[now.astimezone(HCM).strftime("%Y-%m-%d")] += len(new)

    with db.session() as s:
        rows = list(s.scalars(select(Notification).order_by(Notification.id)))
    # one message per recipient, per kind of bundle, per local day
    assert len({(r.recipient, r.kind == "escalation", r.payload["day"]) for r in rows}) == len(rows)
    # "Nhắc lại lần N": N late notices of that stage were really written before
    late_before: Counter[tuple[str, str]] = Counter()
    for row in rows:
        for item in row.payload.get("items", []):
            if item["kind"] != "reminder":
                assert item["repeat"] == late_before[(row.recipient, item["stage"])]
                assert (item["kind"] == "late") == (item["repeat"] == 0)
                late_before[(row.recipient, item["stage"])] += 1

    # spot checks a person can read
    assert per_day["2026-11-01"] == 0
    assert per_day["2026-11-03"] == 11  # 7 days before 10/11: every cell's reports
    by_key = {r.dedup_key: r for r in rows}
    # the first restart after the outage wrote the missed bundle of 20/11, the second nothing
    thcs = by_key["2026:GL-TS-THCS:notice:20261120:file:chibo.thcs@traso.example.vn"]
    assert thcs.created_at == DOWN[1] and ("forms_submitted", "late", 0) in _said(thcs)
    assert per_day["2026-11-20"] == len([r for r in rows if r.created_at == DOWN[1]])
    # a unit that finished reporting got no late notice for its stages
    assert not [r for r in rows if r.payload["unit_code"] == "GL-TS-TH" and r.kind != "reminder"]
    # the extended unit was reminded against its own deadline, 27/11
    t2 = [i for r in rows if r.payload["unit_code"] == "GL-TS-T2" and r.kind != "escalation"
          for i in r.payload["items"] if i["stage"] == "forms_submitted"]
    assert ("reminder", "2026-11-27", "trước ngày 27/11/2026") in {
        (i["kind"], i["plan_date"], i["deadline_text"]) for i in t2}
    # the province is late in January of the next year and is told so
    assert "2026:GL:notice:20270120:file:bantochuc@tinhuy.example.vn" in by_key

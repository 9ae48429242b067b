"""A whole season, 1 November to 31 January, over the sample tree: the sweep at every step
writes exactly what the pure arithmetic says is owed, nothing twice, across a restart.

The expected notifications come from `schedules.deadlines` applied unit by unit in Python
(an oracle independent of the SQL windows); the sweep must match it step by step.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from schedules.deadlines import Policy, escalation_owed, owed_notice
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


def _expected(session, now: datetime) -> set[str]:
    """Every dedup key owed at `now` (file channel), computed unit by unit in Python."""
    campaign = session.scalars(select(Campaign)).one()
    plan = campaign_plan(campaign)
    policy = Policy.from_plan(plan)
    units = {u.id: u for u in session.scalars(select(Unit))}
    milestones = list(session.scalars(select(Milestone)))
    extensions = {(e.cycle_id, e.stage): e.due_at for e in session.scalars(select(DeadlineExtension))}
    keys = set()
    for cycle in session.scalars(select(Cycle)):
        unit = units[cycle.unit_id]
        if not unit.active:
            continue
        for m in milestones:
            if m.level != unit.level or not cycle.stages_mask & BIT[m.stage] \
                    or cycle.stage_rank >= RANK[m.stage]:
                continue
            due = extensions.get((cycle.id, m.stage), m.due_at)
            owed = owed_notice(due, policy, unit.level, now)
            if owed is not None:
                keys.add(f"2026:{unit.code}:{m.stage}:{owed.kind}:{owed.occurrence}:file:"
                         f"{unit.email or unit.code}")
            if escalation_owed(due, policy, unit.level, now):
                day = (due + timedelta(days=policy.escalate_after_days)).astimezone(HCM)
                parent = units[unit.parent_id] if unit.parent_id else None
                if parent is not None:
                    keys.add(f"2026:{parent.code}:{m.stage}:escalation:{day:%Y%m%d}:file:"
                             f"{parent.email or parent.code}")
                keys.add(f"2026:office:{m.stage}:escalation:{day:%Y%m%d}:file:"
                         f"{plan.late.office_email}")
    return keys


def test_a_season_writes_exactly_what_is_owed_and_nothing_twice(db):
    seeded(db.url)
    extended = run(db.url, "deadline", "extend", "GL-TS-T2", "forms_submitted", "2026-11-27",
                   "--reason", "thôn ở xa", now="2026-11-02T09:00")
    assert extended.exit_code == 0, extended.stderr
    progress = sorted((datetime.fromisoformat(at).replace(tzinfo=HCM), code, stage)
                      for at, code, stage in PROGRESS)
    written: set[str] = set()
    per_day: Counter[str] = Counter()
    for now in _steps():
        while progress and progress[0][0] <= now:
            at, code, stage = progress.pop(0)
            if stage == "forms_submitted":  # the results gate wants the unit's results first
                submit_results(db.url, code, now=at.isoformat())
            moved = run(db.url, "advance", code, "--to", stage, now=at.isoformat())
            assert moved.exit_code == 0, moved.stderr
        with db.session(write=True) as s:
            sweep(s, now, ("file",), "https://kiemdiem.example.vn")
        with db.session() as s:
            keys = set(s.scalars(select(Notification.dedup_key)))
            expected_now = _expected(s, now)
        new = keys - written
        assert new == expected_now - written, f"at {now}"
        assert expected_now <= keys
        written = keys
        per_day[now.strftime("%Y-%m-%d")] += len(new)

    # spot checks a person can read
    assert per_day["2026-11-01"] == 0
    assert per_day["2026-11-03"] == 11  # 7 days before 10/11: every cell's reports
    with db.session() as s:
        rows = list(s.scalars(select(Notification)))
    by_key = {r.dedup_key: r for r in rows}
    assert len(by_key) == len(rows)
    # the first restart after the outage wrote the missed late notice of 20/11, the second nothing
    late = by_key["2026:GL-TS-THCS:forms_submitted:late:0:file:chibo.thcs@traso.example.vn"]
    assert late.created_at == DOWN[1]
    assert per_day["2026-11-20"] == len([r for r in rows if r.created_at == DOWN[1]])
    # a unit that finished reporting got no late notice for its stages
    assert not [k for k in by_key if k.startswith("2026:GL-TS-TH:") and ":late:" in k]
    # the extended unit was reminded against its own deadline, 27/11
    assert "2026:GL-TS-T2:forms_submitted:reminder:7:file:chibo.thon2@traso.example.vn" in by_key
    assert by_key["2026:GL-TS-T2:forms_submitted:late:0:file:chibo.thon2@traso.example.vn"] \
        .payload["plan_date"] == "2026-11-27"
    # the province is late in January of the next year, and its office hears of it on 23/01
    assert "2026:GL:forms_submitted:late:0:file:bantochuc@tinhuy.example.vn" in by_key
    assert any(k.startswith("2026:office:forms_submitted:escalation:20270123") for k in by_key)

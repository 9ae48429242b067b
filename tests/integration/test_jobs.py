"""The scheduler's wiring: which jobs it registers, and one real run a few seconds ahead."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from schedules.jobs import CATCH_UP_ID, SweepScheduler
from schedules.timetable import MAX_JOBS, Timetable, load_timetable
from tests.helpers import run, seeded
from tests.processes import wait_until

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOV_1 = datetime(2026, 11, 1, tzinfo=HCM)


def _timetable(db, now):
    def timetable():
        with db.session() as s:
            return load_timetable(s, now)
    return timetable


def _scheduler(db, now):
    return SweepScheduler(lambda reason: None, _timetable(db, now), wall=lambda: now)


def test_one_job_per_milestone_instant_with_stable_ids(db):
    seeded(db.url)
    scheduler = _scheduler(db, NOV_1)
    assert scheduler.refresh() is True
    jobs = scheduler.milestone_jobs()
    # 7 (level, stage) deadlines x (3 reminders, lateness, escalation), a few coinciding
    assert 25 <= len(jobs) <= 35
    assert jobs[0] == ("milestone:2026-11-02T17:00:00+00:00", datetime(2026, 11, 3, tzinfo=HCM))
    instants = [at for _, at in jobs]
    assert datetime(2026, 11, 20, tzinfo=HCM) in instants  # cells' forms deadline
    assert datetime(2027, 1, 23, tzinfo=HCM) in instants  # province escalation, next year
    for job in scheduler.scheduler.get_jobs():
        assert job.coalesce is True and job.misfire_grace_time is None
    assert scheduler.refresh() is False  # nothing changed, nothing rebuilt


def test_jobs_follow_a_changed_deadline(db):
    seeded(db.url)
    scheduler = _scheduler(db, NOV_1)
    scheduler.refresh()
    before = len(scheduler.milestone_jobs())
    result = run(db.url, "deadline", "extend", "GL-TS-T2", "forms_submitted", "2026-11-27",
                 "--reason", "thôn xa", now="2026-11-02T09:00")
    assert result.exit_code == 0, result.stderr
    assert scheduler.refresh() is True
    instants = [at for _, at in scheduler.milestone_jobs()]
    assert datetime(2026, 11, 27, tzinfo=HCM) in instants and len(instants) > before


def test_job_count_stays_bounded_whatever_the_deadlines():
    many = tuple(NOV_1 + timedelta(hours=i) for i in range(1000))
    scheduler = SweepScheduler(lambda reason: None, lambda: Timetable(many[:MAX_JOBS], "x"),
                               wall=lambda: NOV_1 - timedelta(hours=1))
    scheduler.refresh()
    assert len(scheduler.scheduler.get_jobs()) == MAX_JOBS < 200


def test_instants_already_past_on_the_wall_clock_get_no_job(db):
    """`serve --now` in the past: the catch-up covers the missed instants; re-adding them as
    jobs at every refresh would make each fire at once, again and again."""
    seeded(db.url)
    wall = datetime(2026, 11, 22, 8, 0, tzinfo=HCM)
    scheduler = SweepScheduler(lambda reason: None, _timetable(db, NOV_1), wall=lambda: wall)
    assert scheduler.refresh() is True
    instants = [at for _, at in scheduler.milestone_jobs()]
    assert instants and min(instants) > wall
    assert scheduler.refresh() is False


def test_a_real_run_fires_the_catch_up_then_the_milestone():
    fired: list[str] = []
    milestone = threading.Event()
    soon = datetime.now(UTC) + timedelta(seconds=2)

    def sweep(reason: str) -> None:
        fired.append(reason)
        if reason == "milestone":
            milestone.set()

    scheduler = SweepScheduler(sweep, lambda: Timetable((soon,), "t"), catch_up_seconds=3600)
    scheduler.start()
    try:
        assert milestone.wait(10), fired
        assert fired[:2] == ["catch-up", "milestone"]
        assert scheduler.scheduler.get_job(CATCH_UP_ID) is not None
    finally:
        scheduler.shutdown()


def test_stopping_while_the_catch_up_refreshes_its_jobs_does_not_hang():
    """A leader losing its lock while the catch-up reads the timetable must stop, not deadlock
    (APScheduler's own waiting shutdown holds the lock the refresh then needs)."""
    reading, release = threading.Event(), threading.Event()

    def slow_timetable() -> Timetable:
        reading.set()
        release.wait(10)
        return Timetable((datetime.now(UTC) + timedelta(days=1),), "t")

    swept: list[str] = []
    scheduler = SweepScheduler(swept.append, slow_timetable, catch_up_seconds=3600)
    scheduler.start()
    assert reading.wait(10)
    stopper = threading.Thread(target=scheduler.shutdown, daemon=True)
    stopper.start()
    wait_until(lambda: not scheduler.scheduler.running, 10, "the shutdown to begin")
    # shutdown has begun: now let the refresh go on
    release.set()
    stopper.join(10)
    assert not stopper.is_alive(), "shutdown hung"
    assert swept == ["catch-up"]  # the sweep in progress finished; nothing started after

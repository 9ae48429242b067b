"""APScheduler 3.11 wiring: a job per milestone instant plus a periodic catch-up sweep.

The only module that imports APScheduler. Every job runs the same idempotent sweep, so a
job that fires twice, late, or alongside the catch-up costs nothing. Jobs live in memory
and are derived data: at start the catch-up sweep runs at once (covering every instant
missed while the service was down) and builds the milestone jobs from the database; each
catch-up rebuilds them when the deadlines' fingerprint changed (a campaign created, a
deadline extended). Jobs run one at a time (a single worker thread).

Jobs fire on the wall clock, while the timetable follows the application's clock (which
`--now` fixes). An instant already past on the wall clock gets no job: the catch-up that
follows every refresh covers it, and a job for it would fire at once, drop out, and be
added again by the next refresh — a sweep storm whenever `--now` lies in the past.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from schedules.timetable import Timetable

log = logging.getLogger("kiemdiem.schedules")

CATCH_UP_ID = "catch-up"
MILESTONE_PREFIX = "milestone:"
#: a missed run happens once, however late (never silently dropped)
MISFIRES = {"coalesce": True, "misfire_grace_time": None}


class SweepScheduler:
    """Runs `sweep(reason)` at every milestone instant and every `catch_up_seconds`."""

    def __init__(self, sweep: Callable[[str], object], timetable: Callable[[], Timetable],
                 catch_up_seconds: float = 300,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sweep, self._timetable, self._wall = sweep, timetable, wall
        self.catch_up_seconds = catch_up_seconds
        self._running = threading.Lock()  # held by the job in progress
        self._stopping = threading.Event()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1)}, timezone=UTC,
            job_defaults={**MISFIRES, "max_instances": 1})

    def start(self) -> None:
        """Start the thread; the catch-up runs at once, then every `catch_up_seconds`."""
        self.scheduler.start()
        self.scheduler.add_job(self._guarded(self.catch_up), "interval", seconds=self.catch_up_seconds,
                               id=CATCH_UP_ID, replace_existing=True,
                               next_run_time=datetime.now(UTC), **MISFIRES)

    def shutdown(self, wait: bool = True) -> None:
        """Stop; with `wait` a sweep in progress finishes (it is one transaction either way).

        APScheduler's own `shutdown(wait=True)` waits while holding its job-store lock, so a
        job touching the scheduler meanwhile (the catch-up's refresh does) deadlocked it: a
        leader that lost its lock mid-refresh hung for good. The wait happens here instead,
        outside APScheduler's locks; jobs that would start after it do nothing.
        """
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if wait:
            with self._running:
                pass

    def _guarded(self, job: Callable[..., object]) -> Callable[..., None]:
        """`job`, run under the lock `shutdown` waits on, and skipped once stopping."""

        def run(*args: object) -> None:
            with self._running:
                if not self._stopping.is_set():
                    job(*args)

        return run

    def catch_up(self) -> None:
        self.refresh()
        self._sweep("catch-up")

    def refresh(self) -> bool:
        """Make the milestone jobs match the timetable; say whether anything changed.

        Compared by job ids (one per instant), so a changed deadline, a new campaign and the
        next batch beyond `MAX_JOBS` all land here; jobs already fired simply drop out.
        """
        table, wall = self._timetable(), self._wall()
        wanted = {MILESTONE_PREFIX + at.isoformat(): at for at in table.instants if at > wall}
        current = {job_id for job_id, _ in self.milestone_jobs()}
        if set(wanted) == current:
            return False
        for job in self.scheduler.get_jobs():
            if job.id.startswith(MILESTONE_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, at in wanted.items():
            if job_id not in current:
                self.scheduler.add_job(self._guarded(self._sweep), "date", run_date=at, args=["milestone"],
                                       id=job_id, replace_existing=True, **MISFIRES)
        log.info("jobs rebuilt: %d milestone instants (deadlines %s)", len(wanted), table.fingerprint)
        return True

    def milestone_jobs(self) -> list[tuple[str, datetime]]:
        return sorted((job.id, job.trigger.run_date) for job in self.scheduler.get_jobs()
                      if job.id.startswith(MILESTONE_PREFIX))

"""`kiemdiem serve`: the scheduler (on the leader only), plus the hooks other areas add.

Every `serve` runs the hooks (the dispatcher and the web monitor register themselves in
`SERVE_HOOKS`); only the process holding the leader lock runs the scheduler. A follower
retries the lock every `lock_retry_seconds` and takes over when the leader dies. Logs are one
JSON object per line on stdout: start, leadership, each sweep (scanned, written, duration),
stop. SIGTERM and SIGINT stop cleanly: a sweep in progress finishes its transaction first.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from kiemdiem.app import App
from schedules.jobs import PeriodicTask, SweepScheduler
from schedules.leader import leader_for
from schedules.sweep import sweep
from schedules.timetable import load_timetable


class ServeHook(Protocol):
    """Something `serve` runs beside the scheduler on every process (dispatcher, web monitor)."""

    name: str

    def start(self, app: App, stop: threading.Event) -> None: ...

    def stop(self) -> None: ...


#: hooks started by every `serve`; other areas append to these at import of their module
SERVE_HOOKS: list[Callable[[App], ServeHook]] = []
#: periodic work the leader's scheduler runs beside the sweeps (e.g. the daily digest)
PERIODIC_TASKS: list[Callable[[App], PeriodicTask]] = []


def log_event(event: str, **fields: Any) -> None:
    """Write one structured log line (JSON) to stdout."""
    record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
    print(json.dumps(record, ensure_ascii=False, default=str), flush=True)


def run_sweep(app: App, reason: str) -> None:
    """Run one sweep as one transaction and log what it did (errors are logged, not raised)."""
    try:
        with app.db.session(write=True) as session:
            report = sweep(session, app.clock(), app.settings.channels, app.settings.public_url)
        log_event(**report.as_log() | {"reason": reason})
    except Exception as exc:  # noqa: BLE001 - the scheduler thread must survive a bad sweep
        log_event("sweep_failed", reason=reason, error=f"{type(exc).__name__}: {exc}")


def serve(app: App, catch_up_seconds: float, lock_retry_seconds: float) -> None:
    """Run until SIGTERM or SIGINT: hooks always, the scheduler while this process leads."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    leader = leader_for(app.settings.database_url, lock_retry_seconds)
    hooks = [make(app) for make in SERVE_HOOKS]
    log_event("start", db=app.db.dialect, channels=list(app.settings.channels),
              catch_up_seconds=catch_up_seconds, lock_retry_seconds=lock_retry_seconds,
              hooks=[h.name for h in hooks])
    for hook in hooks:
        hook.start(app, stop)
    try:
        while not stop.is_set():
            log_event("waiting_for_leadership")
            if not leader.acquire(stop):
                break
            log_event("leader", detail="this process runs the scheduler")
            _lead(app, leader, stop, catch_up_seconds, lock_retry_seconds)
    finally:
        leader.release()
        for hook in hooks:
            hook.stop()
        log_event("stopped")


def _lead(app: App, leader: Any, stop: threading.Event, catch_up_seconds: float,
          check_seconds: float) -> None:
    """Run the scheduler until stopped or the lock is lost (then go back to waiting)."""

    def timetable():  # type: ignore[no-untyped-def]
        with app.db.session() as session:
            return load_timetable(session, app.clock())

    scheduler = SweepScheduler(lambda reason: run_sweep(app, reason), timetable,
                               catch_up_seconds, [make(app) for make in PERIODIC_TASKS])
    scheduler.start()
    try:
        while not stop.wait(check_seconds):
            if not leader.holds():
                log_event("leadership_lost")
                return
    finally:
        started = time.perf_counter()
        scheduler.shutdown(wait=True)
        log_event("scheduler_stopped", waited_ms=round((time.perf_counter() - started) * 1000, 1))



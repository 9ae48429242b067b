"""`kiemdiem serve`: the scheduler (on the leader only), the dispatcher and the web monitor.

Every `serve` runs its hooks (the dispatcher thread and the web monitor, built by
`default_hooks`); only the process holding the leader lock runs the scheduler, with the
sweeps; the first sweep from `KIEMDIEM_DIGEST_TIME` on writes the day's digest when it is
not written yet, whoever leads and however often leaders change. A follower
retries the lock every `lock_retry_seconds` and takes over when the leader dies. Logs are one
JSON object per line on stdout: start, leadership, each sweep (scanned, written, duration),
stop. SIGTERM and SIGINT stop cleanly: a sweep in progress finishes its transaction first.
When the database goes away (a restart, a network cut) `serve` does not die: the sweeps and
the dispatcher log `database_unreachable` once, retry, and log `database_reconnected` when
it answers again; the leader lock is taken again the same way.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.exc import InterfaceError, OperationalError

from kiemdiem.app import App
from kiemdiem.jsonlog import log_event
from schedules.leader import leader_for
from schedules.sweep import sweep
from workflow.errors import Refused, first_line


class ServeHook(Protocol):
    """Something `serve` runs beside the scheduler on every process (dispatcher, web monitor)."""

    name: str

    def start(self, app: App, stop: threading.Event) -> None: ...

    def stop(self) -> None: ...


SIGNAL_POLL_SECONDS = 0.1


class DispatcherHook:
    """Delivers outbox rows in a thread of its own (it owns an asyncio loop)."""

    name = "dispatcher"

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    def start(self, app: App, stop: threading.Event) -> None:
        from kiemdiem.dispatching import run_dispatcher

        self._thread = threading.Thread(target=run_dispatcher, args=(app, stop, Outage("dispatch").report),
                                        name="kiemdiem-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=30)


class WebHook:
    """Serves the monitor (read-only) on `host:port` while `serve` runs."""

    name = "web"

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server: Any = None

    def start(self, app: App, stop: threading.Event) -> None:
        from kiemdiem.web import WebServer

        try:
            self._server = WebServer(app, self.host, self.port).start()
        except RuntimeError as exc:
            raise Refused("serve.port_in_use", host=self.host, port=self.port) from exc
        log_event("web", url=f"http://{self.host}:{self.port}/")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


def default_hooks(web: tuple[str, int] | None, dispatch: bool) -> list[ServeHook]:
    """The hooks every `serve` runs: the dispatcher, and the monitor when `web` is given."""
    hooks: list[ServeHook] = []
    if dispatch:
        hooks.append(DispatcherHook())
    if web is not None:
        hooks.append(WebHook(*web))
    return hooks


def write_due_digest(app: App) -> int:
    """Write today's digest if its time of day (local) has come and it is not written yet."""
    from notifiers.digest import write_digests

    if app.clock().astimezone(app.zone).time() < app.settings.digest_time:
        return 0
    written = write_digests(app.db, app.clock, app.settings.channels, app.settings.public_url)
    if written:
        log_event("digest", written=written)
    return written


#: errors that mean the database cannot be reached (a restart, a network cut), not a bug
UNREACHABLE = (OperationalError, InterfaceError, OSError)


class Outage:
    """Says when one part of `serve` lost the database and when it got it back.

    `report(error)` is called after every attempt: the first failure to reach the database
    logs `database_unreachable`, the next success `database_reconnected` with how long it
    lasted; the retries in between log nothing (a dispatcher polls every few seconds). Any
    other error is a bug, not an outage: it is logged as an error with its traceback.
    """

    def __init__(self, part: str) -> None:
        self.part = part
        self.since: float | None = None

    def report(self, error: BaseException | None) -> None:
        if error is not None and not isinstance(error, UNREACHABLE):
            log_event(f"{self.part}_failed", level=logging.ERROR, exc_info=error,
                      error=f"{type(error).__name__}: {error}")
        elif error is not None and self.since is None:
            self.since = time.monotonic()
            log_event("database_unreachable", level=logging.WARNING, during=self.part, error=first_line(error))
        elif error is None and self.since is not None:
            log_event("database_reconnected", during=self.part,
                      after_s=round(time.monotonic() - self.since, 1))
            self.since = None


def run_sweep(app: App, reason: str, outage: Outage) -> None:
    """Run one sweep as one transaction and log what it did (errors are logged, not raised)."""
    try:
        with app.db.session(write=True) as session:
            report = sweep(session, app.clock(), app.settings.channels, app.settings.public_url)
    except UNREACHABLE as exc:  # the database is down or the connection broke
        outage.report(exc)
        log_event("sweep_failed", level=logging.WARNING, reason=reason, error=first_line(exc))
    except Exception as exc:  # noqa: BLE001 - the scheduler thread must survive a bad sweep
        log_event("sweep_failed", level=logging.ERROR, exc_info=exc, reason=reason,
                  error=f"{type(exc).__name__}: {exc}")
    else:
        outage.report(None)
        log_event(**report.as_log() | {"reason": reason})
        try:
            write_due_digest(app)
        except UNREACHABLE as exc:
            outage.report(exc)
            log_event("digest_failed", level=logging.WARNING, error=first_line(exc))
        except Exception as exc:  # noqa: BLE001 - the scheduler thread must survive a bad digest
            log_event("digest_failed", level=logging.ERROR, exc_info=exc, error=f"{type(exc).__name__}: {exc}")


def stop_on_signals(*signums: int) -> threading.Event:
    """Return an event set soon after any of `signums` arrives.

    The handler only records the signal: it takes no lock. Setting the event from the handler
    deadlocks when a second signal lands while the first handler holds the event's lock (a
    `timeout` or an impatient operator sends two); a watcher thread sets it instead.
    """
    stop = threading.Event()
    received: list[int] = []
    for signum in signums:
        signal.signal(signum, lambda number, _frame: received.append(number))

    def watch() -> None:
        while not received:
            time.sleep(SIGNAL_POLL_SECONDS)
        log_event("signal", signal=signal.Signals(received[0]).name)
        stop.set()

    threading.Thread(target=watch, name="kiemdiem-signals", daemon=True).start()
    return stop


def serve(app: App, catch_up_seconds: float, lock_retry_seconds: float,
          hooks: Sequence[ServeHook] = ()) -> None:
    """Run until SIGTERM or SIGINT: hooks always, the scheduler while this process leads."""
    stop = stop_on_signals(signal.SIGTERM, signal.SIGINT)
    leader = leader_for(app.settings.database_url, lock_retry_seconds)
    log_event("start", db=app.db.dialect, channels=list(app.settings.channels),
              catch_up_seconds=catch_up_seconds, lock_retry_seconds=lock_retry_seconds,
              hooks=[h.name for h in hooks])
    started: list[ServeHook] = []
    outage = Outage("sweep")  # kept across leadership terms: the reconnection is logged too
    try:
        for hook in hooks:
            hook.start(app, stop)
            started.append(hook)
        while not stop.is_set():
            log_event("waiting_for_leadership")
            if not leader.acquire(stop):
                break
            log_event("leader", detail="this process runs the scheduler")
            _lead(app, leader, stop, catch_up_seconds, lock_retry_seconds, outage)
    finally:
        stop.set()
        leader.release()
        for hook in started:
            hook.stop()
        log_event("stopped")


def _lead(app: App, leader: Any, stop: threading.Event, catch_up_seconds: float,
          check_seconds: float, outage: Outage) -> None:
    """Run the scheduler until stopped or the lock is lost (then go back to waiting)."""

    scheduler = app.scheduler(lambda reason: run_sweep(app, reason, outage), catch_up_seconds)
    scheduler.start()
    try:
        while not stop.wait(check_seconds):
            if not leader.holds():
                log_event("leadership_lost", level=logging.WARNING)
                return
    finally:
        started = time.perf_counter()
        scheduler.shutdown(wait=True)
        log_event("scheduler_stopped", waited_ms=round((time.perf_counter() - started) * 1000, 1))



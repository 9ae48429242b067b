"""Commands of the schedules area: `remind`, `simulate` and `serve`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

import click
from sqlalchemy.orm import Session

from config.i18n import _
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import command, json_option
from kiemdiem.output import emit
from kiemdiem.timeparse import DATE
from schedules.preview import COLUMNS, simulate, sweep_and_list
from workflow.errors import BadInput


@contextmanager
def _transaction(app: App, keep: bool) -> Iterator[Session]:
    """One writing transaction, committed only if `keep` (dry runs and simulations roll back)."""
    with app.ready_db().engine.connect() as conn:
        conn = conn.execution_options(kiemdiem_write=True)
        tx = conn.begin()
        try:
            with Session(bind=conn) as session:
                yield session
                session.flush()
            if keep:
                tx.commit()
        finally:
            if tx.is_active:
                tx.rollback()




@command()
@click.option("--dry-run", is_flag=True, help="Show what would be written, write nothing.")
@json_option
@pass_app
def remind(app: App, dry_run: bool, as_json: bool) -> None:
    """Run the sweep now: the reminders, late notices, repeats and escalations it writes."""
    with _transaction(app, keep=not dry_run) as session:
        report, rows = sweep_and_list(session, app.clock(), app.settings.channels,
                                      app.settings.public_url)
    emit(rows, COLUMNS, as_json)
    if not as_json:
        said = (_("Would write {count} notifications ({scanned} cycles swept).") if dry_run
                else _("Wrote {count} notifications ({scanned} cycles swept)."))
        click.echo(said.format(count=report.total, scanned=report.scanned))


@command("simulate")
@click.option("--from", "start", type=DATE, required=True, help="First day (YYYY-MM-DD, local).")
@click.option("--to", "end", type=DATE, required=True, help="Last day, inclusive.")
@json_option
@pass_app
def simulate_command(app: App, start: date, end: date, as_json: bool) -> None:
    """Preview the season on a virtual clock: every message that would go out, to whom, when.

    Assumes nobody reports progress meanwhile. Runs over the current data inside a transaction
    that is rolled back: nothing is written.
    """
    if end < start:
        raise BadInput(_("--to {end} is before --from {start}.").format(end=end, start=start))
    first = datetime.combine(start, time(0), tzinfo=app.zone)
    last = datetime.combine(end + timedelta(days=1), time(0), tzinfo=app.zone) - timedelta(microseconds=1)
    with _transaction(app, keep=False) as session:
        rows = list(simulate(session, first, last, app.settings.channels,
                             app.settings.public_url, app.zone))
    emit(rows, COLUMNS, as_json)
    if not as_json:
        click.echo(_("Simulated {start}–{end}: {count} notifications.").format(
            start=f"{start:%d/%m/%Y}", end=f"{end:%d/%m/%Y}", count=len(rows)))


@command()
@click.option("--catch-up-seconds", type=float, default=300, show_default=True,
              envvar="KIEMDIEM_CATCH_UP_SECONDS", help="How often the catch-up sweep runs.")
@click.option("--lock-retry-seconds", type=float, default=5, show_default=True,
              envvar="KIEMDIEM_LOCK_RETRY_SECONDS",
              help="How often a waiting process retries the scheduler lock (PostgreSQL).")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="KIEMDIEM_WEB_HOST",
              help="Address the web monitor listens on.")
@click.option("--port", type=int, default=8080, show_default=True, envvar="KIEMDIEM_WEB_PORT",
              help="Port of the web monitor.")
@click.option("--no-web", is_flag=True, help="Do not serve the web monitor from this process.")
@click.option("--no-dispatch", is_flag=True, help="Do not deliver messages from this process.")
@pass_app
def serve(app: App, catch_up_seconds: float, lock_retry_seconds: float, host: str, port: int,
          no_web: bool, no_dispatch: bool) -> None:
    """Run the scheduler (one process among many holds it), the dispatcher and the web monitor."""
    from kiemdiem import jsonlog
    from kiemdiem.serve import default_hooks
    from kiemdiem.serve import serve as run

    jsonlog.configure()  # APScheduler's and uvicorn's lines too: one JSON object per line
    _refuse_uninitialised(app)
    run(app, catch_up_seconds, lock_retry_seconds,
        hooks=default_hooks(None if no_web else (host, port), dispatch=not no_dispatch))


def _refuse_uninitialised(app: App) -> None:
    """Refuse to start on a database `init` has not prepared: the scheduler would log a
    traceback on every catch-up. A database that cannot be reached yet is left to `serve`,
    which waits for it."""
    from sqlalchemy.exc import OperationalError

    from workflow.errors import Refused
    from workflow.schema import is_current

    try:
        current = is_current(app.ready_db())
    except OperationalError:
        return
    if not current:
        raise Refused(_("the database is not initialised or is of an old version: run `kiemdiem init` "
                        "before `serve`."))


COMMANDS = [remind, simulate_command, serve]

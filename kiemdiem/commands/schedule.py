"""Commands of the schedules area: `remind`, `simulate` and `serve`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import click
from sqlalchemy.orm import Session

from config.errors import ConfigError
from config.hierarchy import load_hierarchy
from config.i18n import _, pgettext
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import command, json_option
from kiemdiem.output import emit, emit_json, literal_console, to_jsonable
from kiemdiem.timeparse import parse_date
from notifiers.digest import write_digests_in
from schedules.preview import COLUMNS, sweep_and_list
from schedules.season import MAX_MESSAGES_PER_UNIT, Season, Tally, count_season, run_season, step_rows
from workflow.campaigns import campaign_plan
from workflow.errors import BadInput, NotFound
from workflow.lookup import current_campaign, find_unit


@contextmanager
def _transaction(app: App, keep: bool) -> Iterator[Session]:
    """One writing transaction, committed only if `keep` (dry runs and simulations roll back)."""
    with app.db.engine.connect() as conn:
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
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD, local).")
@click.option("--to", "end", required=True, help="Last day, inclusive.")
@click.option("--summary", is_flag=True,
              help="Counts per day, season totals and the plan's policy judged (default at a terminal).")
@click.option("--unit", "unit_code", default=None, metavar="CODE", help="Only the messages this unit receives.")
@click.option("--jsonl", is_flag=True, help="One JSON object per message per line, as each is known.")
@json_option
@pass_app
def simulate_command(app: App, start: str, end: str, summary: bool, unit_code: str | None, jsonl: bool,
                     as_json: bool) -> None:
    """Preview the season on a virtual clock: every message that would go out, or their counts.

    Assumes nobody reports progress meanwhile. Runs over the current data inside a transaction
    that is rolled back: nothing is written. Messages are streamed as each virtual sweep writes
    them; a summary is counted by the database.
    """
    first_day, last_day = _day("--from", start), _day("--to", end)
    if last_day < first_day:
        raise BadInput("simulate.range", end=f"{last_day:%d/%m/%Y}", start=f"{first_day:%d/%m/%Y}")
    if summary and (jsonl or unit_code):
        raise BadInput("simulate.summary_alone")
    if jsonl and as_json:
        raise BadInput("simulate.json_or_jsonl")
    summary = summary or not (as_json or jsonl or unit_code or not sys.stdout.isatty())
    first = datetime.combine(first_day, time(0), tzinfo=app.zone)
    last = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=app.zone) - timedelta(microseconds=1)
    settings = app.settings
    with _transaction(app, keep=False) as session:
        campaign = current_campaign(session)
        if campaign is None:
            raise NotFound("simulate.no_campaign")
        unit_id = _unit_id(session, unit_code) if unit_code else None

        def digest(s: Session, at: datetime) -> None:
            if at.astimezone(app.zone).time() >= settings.digest_time:
                write_digests_in(s, at, settings.channels, settings.public_url)

        steps = run_season(session, first, last, settings.channels, settings.public_url, app.zone,
                           settings.digest_time, digest)
        if summary:
            season = count_season(session, steps, first_day, last_day, campaign_plan(campaign))
            if as_json:
                emit_json(season.as_json())
            else:
                print_summary(season, _level_labels(campaign.hierarchy), settings.channels)
            return
        rows = (row for step in steps for row in step_rows(session, step, unit_id))
        if jsonl:
            _emit_lines(rows)
            return
        counted = _Counted(rows)
        emit(counted, COLUMNS, as_json)
    if not as_json:
        said = _("Simulated {start}–{end}: {count} notifications for {unit}.") if unit_code \
            else _("Simulated {start}–{end}: {count} notifications.")
        click.echo(said.format(start=f"{first_day:%d/%m/%Y}", end=f"{last_day:%d/%m/%Y}", count=counted.count,
                               unit=unit_code))


def _day(flag: str, value: str) -> date:
    """A day typed after `flag`, or a refusal (`day.unreadable`) saying how to write it (exit 2)."""
    try:
        return parse_date(value)
    except click.BadParameter:
        raise BadInput("day.unreadable", flag=flag, value=value) from None


def _unit_id(session: Session, code: str) -> int:
    try:
        return find_unit(session, code).id
    except NotFound:
        raise NotFound("unit.unknown_see_tree", code=code) from None


class _Counted:
    """Rows passed through as they come, counted for the closing line."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            self.count += 1
            yield row


def _emit_lines(rows: Iterator[dict[str, Any]]) -> None:
    """One JSON object per line, written as each is known."""
    out = sys.stdout
    for row in rows:
        out.write(json.dumps({c: to_jsonable(row.get(c)) for c in COLUMNS}, ensure_ascii=False) + "\n")
    out.flush()


def _level_labels(hierarchy: str) -> dict[str, str]:
    """The campaign's levels, top down, with their Vietnamese labels (codes if the preset is gone)."""
    try:
        return {level.name: level.label for level in load_hierarchy(hierarchy).levels}
    except ConfigError:
        return {}


def _n(count: int) -> str:
    """A count as Vietnamese writes it: 1.197.190."""
    return f"{count:,}".replace(",", ".")


def print_summary(season: Season, levels: dict[str, str], channels: tuple[str, ...]) -> None:
    """The season as an officer reads it: a row per day, the totals, the judgment of the plan."""
    from rich.table import Table

    totals = season.totals
    level_names = [*levels, *sorted(set(totals.by_level) - set(levels))]
    table = Table(title=_("Simulation {start}–{end} (channels: {channels}; messages are the bundled messages)")
                  .format(start=f"{season.start:%d/%m/%Y}", end=f"{season.end:%d/%m/%Y}",
                          channels=", ".join(channels)))
    table.add_column(_("Day"))
    table.add_column(_("Total"), justify="right")
    for kind in SUMMARY_KINDS:
        table.add_column(pgettext("value", kind), justify="right")
    for level in level_names:
        table.add_column(levels.get(level, level), justify="right")

    def cells(tally: Tally) -> list[str]:
        return [_n(tally.total), *(_n(tally.by_kind.get(k, 0)) for k in SUMMARY_KINDS),
                *(_n(tally.by_level.get(level, 0)) for level in level_names)]

    for day, tally in sorted(season.days.items()):
        if tally.total:
            table.add_row(f"{day:%d/%m/%Y}", *cells(tally))
    table.add_section()
    table.add_row(_("Whole season"), *cells(totals))
    console = literal_console()
    console.print(table)
    busiest, top = season.busiest_day, season.most_messaged
    lines = [_("Busiest day: {day}, {count} messages (what the channels can send in a day: {capacity}).")
             .format(day=f"{busiest[0]:%d/%m/%Y}", count=_n(busiest[1]), capacity=_n(season.capacity_per_day))
             if busiest else _("No messages.")]
    if top is not None:
        lines.append(_("Most messages to one unit: {unit} ({name}), {count} messages on the {channel} channel "
                       "over the season (threshold {limit}).").format(
            unit=top.unit, name=top.name, count=_n(top.messages), channel=top.channel, limit=MAX_MESSAGES_PER_UNIT))
    lines += [_("Warning: {message}").format(message=w.message) for w in season.warnings] or \
        [_("The plan's reminder policy is within the thresholds.")]
    for line in lines:
        console.print(line)


#: the summary's columns of kinds, in the order a season unfolds
SUMMARY_KINDS = ("reminder", "late", "repeat", "escalation", "digest")


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
        current = is_current(app.db)
    except OperationalError:
        return
    if not current:
        raise Refused("db.uninitialised_serve")


COMMANDS = [remind, simulate_command, serve]

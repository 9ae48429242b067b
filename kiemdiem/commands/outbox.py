"""Commands of the notifiers: list and requeue outbox rows, deliver them."""

from __future__ import annotations

import asyncio

import click

from config.i18n import _
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import command, group
from kiemdiem.output import emit
from notifiers.outbox import STATUSES, list_rows, requeue
from workflow.errors import BadInput

COLUMNS = ("id", "kind", "unit", "stage", "channel", "recipient", "status", "attempts",
           "dedup_key", "last_error")
#: too wide for the table: the delivery's time, the peer's reference, how long the last attempt took
JSON_ONLY = ("sent_at", "reference", "duration_ms", "channel_state")


@group(invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only rows in this status.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.pass_context
def outbox(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """List the notifications (the outbox): what was sent, what waits, what failed.

    Each row also says its channel's state (`channel_state`: `up`, or `down` when a running
    instance cannot reach the channel's peer); with the table, a down channel is named on stderr.
    """
    if ctx.invoked_subcommand is None:
        from notifiers.health import channel_states

        app = ctx.find_object(App)
        assert app is not None, "the root command builds the App"
        db = app.db
        rows, states = list_rows(db, status), channel_states(db, app.clock())
        for row in rows:
            row["channel_state"] = states.get(row["channel"], {}).get("state", "up")
        emit(rows, (*COLUMNS, *JSON_ONLY) if as_json else COLUMNS, as_json, title=_("Outbox"))
        if not as_json:
            for channel, state in sorted(states.items()):
                click.echo(_("Channel {channel} unreachable since {since} UTC ({instances} processes): "
                             "{error}").format(channel=channel, since=f"{state['since']:%d/%m/%Y %H:%M}",
                                               instances=state["instances"], error=state["error"]), err=True)


@outbox.command("retry")
@click.argument("row_id", metavar="ID", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Requeue every failed and dead row.")
@pass_app
def outbox_retry(app: App, row_id: int | None, all_failed: bool) -> None:
    """Put a failed or dead row (or all of them) back in the queue, due now."""
    if (row_id is None) == (not all_failed):
        raise BadInput("outbox.id_or_all")
    count = requeue(app.db, now=app.clock(), ids=[row_id] if row_id is not None else [],
                    all_failed=all_failed)
    if row_id is not None and count == 0:
        raise BadInput("outbox.row_not_retryable", id=row_id)
    click.echo(_("Put {count} notifications back in the queue.").format(count=count))


@command()
@click.option("--once", is_flag=True, help="Stop when nothing is due (default: keep delivering).")
@pass_app
def dispatch(app: App, once: bool) -> None:
    """Deliver due outbox rows through the enabled channels (KIEMDIEM_CHANNELS)."""
    from kiemdiem import jsonlog
    from kiemdiem.dispatching import SUMMARY_COLUMNS, summary_rows
    from kiemdiem.dispatching import dispatch as run
    from notifiers.outbox import waiting

    jsonlog.configure()  # the dispatcher's events (channel_down, gave_up, …) as JSON lines

    db = app.db
    try:
        tally = asyncio.run(run(app, None if once else asyncio.Event()))
    except KeyboardInterrupt:
        click.echo(_("Delivery stopped."), err=True)
        return
    rows = summary_rows(tally, waiting(db))
    emit(rows, SUMMARY_COLUMNS, False, title=_("Dispatch"))
    total = {column: sum(row[column] for row in rows) for column in SUMMARY_COLUMNS[1:]}
    click.echo(_("Delivered {sent}, failed and retried later {retry}, failed for good {failed}, given up "
                 "{dead}; {waiting} left in the queue.").format(**total))


COMMANDS = [outbox, dispatch]

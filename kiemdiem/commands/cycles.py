"""Commands that move one cycle: `advance` and `reopen`.

An area of their own because office staff run them one unit at a time, many times a day:
this module imports only what moving a cycle needs (no plan models, importer or queries),
so the command answers within its start-up budget (under half a second).
"""

from __future__ import annotations

from datetime import datetime

import click

from config.i18n import _, pgettext
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import Text, TextOption, command, year_option
from kiemdiem.timeparse import INSTANT
from kiemdiem.wording import say
from workflow.service import Outcome
from workflow.stages import EVENT_FOR, STAGE_FOR_EVENT


@command()
@click.argument("code")
@year_option
@click.option("--to", "to", default=None, cls=TextOption,
              help=Text("Target stage ({stages}).", stages=", ".join(EVENT_FOR)))
@click.option("--event", default=None, cls=TextOption,
              help=Text("Event ({events}).", events=", ".join(STAGE_FOR_EVENT)))
@click.option("--at", type=INSTANT, default=None, help="When the stage was really reached (default: now).")
@click.option("--by", "by", default=None, help="Who reported it (default: --as or login name).")
@click.option("--note", default=None, help="A note for the audit log.")
@click.option("--force", is_flag=True, help="Override the guards (needs --reason; audited).")
@click.option("--reason", default=None, help="Why the guards are overridden.")
@pass_app
def advance(app: App, code: str, year: int | None, to: str | None, event: str | None,
            at: datetime | None, by: str | None, note: str | None, force: bool,
            reason: str | None) -> None:
    """Move one unit's cycle to its next stage; refused with the reason when a guard fails."""
    outcome = app.cycle_service().advance(code, year=year, to=to, event=event, at=at,
                                          actor=by or app.actor, note=note, force=force,
                                          reason=reason)
    _report(outcome)


@command()
@click.argument("code")
@year_option
@click.option("--reason", required=True, help="The defect that requires re-classification.")
@pass_app
def reopen(app: App, code: str, year: int | None, reason: str) -> None:
    """Send a submitted unit back to re-classification; its parents' roll-ups become stale."""
    _report(app.cycle_service().reopen(code, year=year, reason=reason, actor=app.actor))


def _report(outcome: Outcome) -> None:
    click.echo(f"{outcome.unit}: {outcome.from_state} → {outcome.to_state} "
               f"({pgettext('value', outcome.to_state)}).")
    for item in outcome.overridden:
        click.echo("  " + _("guard overridden (audited): {guard}").format(guard=say(item)))
    if outcome.also_moved:
        click.echo("  " + _("aggregated: {units}").format(units=", ".join(outcome.also_moved)))
    if outcome.flagged_stale:
        click.echo("  " + _("to aggregate again: {units}").format(units=", ".join(outcome.flagged_stale)))


COMMANDS = [advance, reopen]

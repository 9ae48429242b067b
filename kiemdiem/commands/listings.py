"""Commands that list what the database holds: status, overdue and the audit trail.

Apart from the core's writing commands, so that reading a listing imports neither the plan
nor the hierarchy models (pydantic and YAML, slow to import for a listing).
"""

from __future__ import annotations

from datetime import datetime

import click

from config.i18n import _
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import command, json_option, year_option
from kiemdiem.output import emit, emit_json, emit_json_lines_as_array
from kiemdiem.timeparse import INSTANT
from kiemdiem.wording import say
from workflow.lookup import find_unit, get_campaign
from workflow.queries import audit_rows, overdue_json, overdue_rows, status_rows

#: JSON listings carry a deadline's rule and plan date beside its instant; tables say the phrase
_DEADLINE_JSON = {True: ("deadline_rule", "plan_date"), False: ()}


@command()
@click.argument("code", required=False)
@year_option
@json_option
@pass_app
def status(app: App, code: str | None, year: int | None, as_json: bool) -> None:
    """CODE and every unit under it: state, next stage, deadline, lateness."""
    with app.db.session() as session:
        camp = get_campaign(session, year)
        under = find_unit(session, code) if code else None
        emit(status_rows(session, camp, app.clock(), under),
             ["unit", "name", "level", "state", "next_stage", "deadline", *_DEADLINE_JSON[as_json],
              "overdue", "days_late"],
             as_json, title=_("Progress of the {year} campaign").format(year=camp.year))


@command()
@click.option("--under", "code", default=None, help="Only units under this code.")
@click.option("--as-of", "as_of", type=INSTANT, default=None, help="Late as of this instant (default: now).")
@year_option
@json_option
@pass_app
def overdue(app: App, code: str | None, as_of: datetime | None, year: int | None, as_json: bool) -> None:
    """One row per late (unit, stage), most late first."""
    with app.db.session() as session:
        camp = get_campaign(session, year)
        under = find_unit(session, code) if code else None
        if as_json:
            emit_json_lines_as_array(overdue_json(session, camp, as_of or app.clock(), under))
            return
        emit(overdue_rows(session, camp, as_of or app.clock(), under),
             ["unit", "name", "level", "stage", "deadline", *_DEADLINE_JSON[as_json], "days_late",
              "secretary"],
             as_json, title=_("Late units, {year} campaign").format(year=camp.year))


@command()
@click.argument("code", required=False)
@click.option("--limit", type=int, default=200, show_default=True, help="At most this many entries.")
@json_option
@pass_app
def audit(app: App, code: str | None, limit: int, as_json: bool) -> None:
    """Who changed what and why, newest first, for CODE and the units under it."""
    with app.db.session() as session:
        under = find_unit(session, code) if code else None
        rows = [{**row, "reason": say(row["reason"]) if row["reason"] is not None else None}
                for row in audit_rows(session, under, limit)]
    if as_json:
        emit_json([{k: v for k, v in r.items()} for r in rows])
        return
    emit(rows, ["at", "actor", "action", "unit", "from_state", "to_state", "reason"], False,
         title=_("Audit log"))


COMMANDS = [status, overdue, audit]

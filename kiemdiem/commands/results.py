"""Commands of the results area: `results submit|level|amend|check|show` and `report`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from sqlalchemy import select

from config.i18n import _
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import command, group, json_option, year_option
from kiemdiem.output import emit, emit_json
from kiemdiem.timeparse import DATE
from kiemdiem.wording import say
from workflow.errors import BadInput
from workflow.lookup import find_unit, get_campaign
from workflow.models import Unit
from workflow.results.levels import ALL
from workflow.results.report import FORMATS, Heading, place_of, render, report_data
from workflow.results.rollup import rollup
from workflow.results.rules import Violation
from workflow.results.store import Stored
from workflow.results.validator import rule_table

file_argument = click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
force_option = click.option("--force", is_flag=True,
                            help="Store despite rule violations (needs --reason; audited).")
reason_option = click.option("--reason", default=None, help="Why the violations are accepted.")


def _print(stored: Stored, done: str) -> None:
    counts = ", ".join(f"{level} {stored.counts[level]}" for level in ALL)
    level = _("; collective: {level}").format(level=stored.collective_level) if stored.collective_level else ""
    click.echo(done.format(unit=stored.unit, counts=counts, level=level))
    if stored.forced:
        click.echo(_("Stored with {count} violations accepted (--force); the unit cannot submit its "
                     "forms without --force on advance.").format(count=len(stored.violations)), err=True)
        for v in stored.violations:
            click.echo(f"  - {v.code}: {say(v.message)}", err=True)
    _warn(stored.warnings)


def _warn(warnings: list[Violation]) -> None:
    for w in warnings:
        click.echo(_("Warning {code}: {message}").format(code=w.code, message=say(w.message)), err=True)


@group()
def results() -> None:
    """Classification results: enter, amend, check and show them."""


@results.command("submit")
@click.argument("code")
@file_argument
@click.option("--unit-level", default=None,
              help="The collective's own level (may come later: `results level`).")
@click.option("--founded-on", type=DATE, default=None, help="When the organisation was founded (if recent).")
@click.option("--review-date", type=DATE, default=None,
              help="Count 'less than 6 months' back from this day (default: the cell meeting's date).")
@year_option
@force_option
@reason_option
@pass_app
def results_submit(app: App, code: str, file: Path, unit_level: str | None, founded_on: date | None,
                   review_date: date | None, year: int | None, force: bool, reason: str | None) -> None:
    """Store a cell's results (members CSV/XLSX/YAML, or counts) after its meeting."""
    stored = app.results_service().submit(code, file, actor=app.actor, year=year, unit_level=unit_level,
                                  founded_on=founded_on, review_date=review_date, force=force, reason=reason)
    _print(stored, _("Stored the classification results of {unit}: {counts}{level}."))


@results.command("level")
@click.argument("code")
@click.argument("level")
@click.option("--founded-on", type=DATE, default=None, help="When the organisation was founded (if recent).")
@year_option
@force_option
@reason_option
@pass_app
def results_level(app: App, code: str, level: str, founded_on: date | None, year: int | None,
                  force: bool, reason: str | None) -> None:
    """Set a unit's collective level (HTXS, HTT, HT, KHT, NOT_CLASSIFIED), re-checking its members."""
    stored = app.results_service().set_level(code, level, actor=app.actor, year=year, founded_on=founded_on,
                                     force=force, reason=reason)
    _print(stored, _("Stored the collective level of {unit}: {counts}{level}."))


@results.command("levels")
@click.argument("code")
@file_argument
@year_option
@force_option
@reason_option
@pass_app
def results_levels(app: App, code: str, file: Path, year: int | None, force: bool, reason: str | None) -> None:
    """CODE enters its children's levels from FILE (code, level and each collective's record),
    checked together, the collectives' quota included."""
    for stored in app.results_service().set_levels(code, file, actor=app.actor, year=year, force=force, reason=reason):
        _print(stored, _("Stored the collective level of {unit}: {counts}{level}."))


@results.command("amend")
@click.argument("code")
@file_argument
@year_option
@force_option
@reason_option
@pass_app
def results_amend(app: App, code: str, file: Path, year: int | None, force: bool, reason: str | None) -> None:
    """Rate members who were absent (PENDING): re-validated and sent up as a supplement."""
    stored = app.results_service().amend(code, file, actor=app.actor, year=year, force=force, reason=reason)
    _print(stored, _("Supplemented the classification results of {unit}: {counts}{level}."))


def _violation_rows(violations: list[Violation]) -> list[dict[str, str | None]]:
    return [{"code": v.code, "member": v.member, "message": say(v.message)} for v in violations]


@results.command("check")
@click.argument("code", required=False)
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--unit-level", default=None, help="Check as if the collective had this level.")
@click.option("--review-date", type=DATE, default=None, help="Count 'less than 6 months' back from this day.")
@click.option("--rules", "show_rules", is_flag=True, help="Print the table of rules (code, rule, source).")
@year_option
@json_option
@pass_app
def results_check(app: App, code: str | None, file: Path | None, unit_level: str | None,
                  review_date: date | None, show_rules: bool, year: int | None, as_json: bool) -> None:
    """List the rule violations of FILE (nothing stored) or of CODE's stored results."""
    if show_rules:
        emit(rule_table(), ["code", "rule_sets", "kind", "message", "source"], as_json,
             title=_("The rules results are checked against"))
        return
    if code is None:
        raise BadInput("results.check_needs_code")
    violations, warnings = app.results_service().check_all(code, file, year=year, unit_level=unit_level,
                                                   review_date=review_date)
    emit(_violation_rows(violations), ["code", "member", "message"], as_json,
         title=_("Classification rule violations: {unit}").format(unit=code))
    _warn(warnings)
    if violations:
        raise SystemExit(1)


@results.command("show")
@click.argument("code")
@year_option
@json_option
@pass_app
def results_show(app: App, code: str, year: int | None, as_json: bool) -> None:
    """Show a unit's stored results and its members' ratings (confidential)."""
    summary, members = app.results_service().show(code, year=year)
    if as_json:
        emit_json({**summary, "violations": _violation_rows(summary["violations"]), "members": members})
        return
    counts = ", ".join(f"{level} {summary[level]}" for level in ALL)
    click.echo(_("{unit} — {name} ({year}, {rule_set}): collective {level}; {counts}; {validity}{supplement}.")
               .format(unit=summary["unit"], name=summary["name"], year=summary["year"],
                       rule_set=summary["rule_set"], level=summary["collective_level"] or _("not classified"),
                       counts=counts, validity=_("valid") if summary["valid"] else _("HAS VIOLATIONS"),
                       supplement=_("; supplemented") if summary["supplement"] else ""))
    if members:
        emit(members, ["name", "role", "is_head", "level", "votes", "score"], False)


@command()
@click.argument("code", required=False)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write to this file (default: stdout; a PDF needs a file).")
@click.option("--place", default=None,
              help="Place on the date line (default: from the unit's name, e.g. Gia Lai).")
@year_option
@pass_app
def report(app: App, code: str | None, fmt: str, output: Path | None, place: str | None,
           year: int | None) -> None:
    """The roll-up under CODE (or the whole campaign): counts and percentages per level."""
    if fmt == "pdf" and output is None:
        raise BadInput("report.pdf_needs_file")
    with app.db.session() as session:
        campaign = get_campaign(session, year)
        unit = find_unit(session, code) if code else None
        data = report_data(rollup(session, campaign, unit, app.clock()))
        ancestors = [] if unit is None else list(session.scalars(
            select(Unit.name).where(Unit.id.in_([*unit.ancestor_ids, unit.id]))
            .order_by(Unit.depth.desc())))
    parent = ancestors[1] if len(ancestors) > 1 else None
    heading = Heading(place=place or place_of(ancestors or [data["unit_name"]]), superior=parent,
                      recipients=[f"{parent} (để báo cáo)"] if parent else [])
    body = render(data, fmt, heading)
    if output is None:
        click.echo(body, nl=False)
        return
    try:
        output.write_bytes(body)
    except OSError as exc:
        raise BadInput("file.cannot_write", file=output, reason=exc.strerror) from exc
    click.echo(_("Wrote the report of {unit} ({format}) to {file}.").format(
        unit=code or data["unit_name"], format=fmt, file=output), err=True)


COMMANDS = [results, report]

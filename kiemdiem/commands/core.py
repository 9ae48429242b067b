"""Commands of the core: schema, units, campaigns, stages, status, overdue and the audit trail."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from config.i18n import _, language, pgettext
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import command, group, json_option, year_option
from kiemdiem.output import emit
from kiemdiem.timeparse import DATE
from kiemdiem.unitdiff import print_import
from workflow.campaigns import CampaignReport, DeadlineChange, add_missing_cycles, create_campaign
from workflow.lookup import current_campaign, find_unit
from workflow.machine import mermaid
from workflow.queries import tree_rows
from workflow.units import ImportOptions, import_units


@command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the schema (Alembic migrations)."""
    from workflow.schema import upgrade  # Alembic is slow to import; only `init` needs it

    heads = upgrade(app.db)
    click.echo(_("The database is ready ({dialect}; revision {heads}).").format(
        dialect=app.db.dialect, heads=", ".join(heads)))


@group()
def units() -> None:
    """Import and show the tree of units."""


@units.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--clear-empty", is_flag=True,
              help="An empty cell clears the stored value (default: it is kept).")
@click.option("--deactivate-missing", is_flag=True,
              help="Deactivate the active units the file does not list (default: only list them).")
@click.option("--dry-run", is_flag=True, help="Print every change the import would make; write nothing.")
@click.option("--encoding", default=None,
              help="The CSV file's encoding (default: from its BOM, UTF-8, or detected: cp1258…).")
@pass_app
def units_import(app: App, file: Path, clear_empty: bool, deactivate_missing: bool, dry_run: bool,
                 encoding: str | None) -> None:
    """Import units from a CSV, XLSX or YAML file: all rows or none; re-import updates in place."""
    db = app.db
    options = ImportOptions(clear_empty=clear_empty, deactivate_missing=deactivate_missing,
                            dry_run=dry_run, encoding=encoding)

    def top_up(session: Session) -> None:
        latest = current_campaign(session)
        if latest is not None:
            added = add_missing_cycles(session, latest, app.clock)
            if added:
                click.echo(_("Added {count} cycles for new units to the {year} campaign.").format(
                    count=added, year=latest.year))

    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(_("Importing units"), total=None)
            report = import_units(db, file, app.hierarchy, app.clock, app.actor,
                                  progress=lambda _phase, done, total: bar.update(task, completed=done, total=total),
                                  after_write=top_up, options=options)
    else:
        report = import_units(db, file, app.hierarchy, app.clock, app.actor, after_write=top_up,
                              options=options)
    print_import(file, report, options)


@units.command("tree")
@click.argument("code", required=False)
@json_option
@pass_app
def units_tree(app: App, code: str | None, as_json: bool) -> None:
    """Show the tree under CODE (or the whole tree)."""
    with app.db.session() as session:
        under = find_unit(session, code) if code else None
        rows = tree_rows(session, under)
        if as_json:
            emit(rows, ["code", "name", "level", "parent", "secretary", "email", "zalo_user_id",
                        "phone", "has_committee", "active"], as_json=True)
            return
        _print_tree(rows, app)


def _print_tree(rows: Iterable[dict[str, Any]], app: App) -> None:
    from rich.text import Text
    from rich.tree import Tree

    from kiemdiem.output import literal_console

    roots: list[Tree] = []
    nodes: dict[str, Tree] = {}
    for row in rows:
        # styled pieces appended as Text: names with "[...]" or ":x:" print literally
        label = Text(row["code"], style="bold").append(f" {row['name']} ")
        # the hierarchy file's labels are Vietnamese ("Tổ chức cơ sở đảng"); English has the catalog's
        about = app.hierarchy.label(row["level"]) if language() == "vi" else pgettext("value", row["level"])
        if row["secretary"]:
            about += _("; secretary {name}").format(name=row["secretary"])
        label.append(f"({about})", style="dim")
        if not row["active"]:
            label.append(" " + _("inactive"), style="red")
        parent = nodes.get(row["parent"] or "")
        node = parent.add(label) if parent else Tree(label)
        if parent is None:
            roots.append(node)
        nodes[row["code"]] = node
    console = literal_console()
    for root in roots:
        console.print(root)
    if not roots:
        console.print(_("(no units yet)"))


@group()
def campaign() -> None:
    """Issue a year's plan to the units."""


def _campaign_options(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option("--root", default=None, help="Only units under this code (default: all).")(f)
    f = click.option("--plan", "plan_path", required=True,
                     type=click.Path(path_type=Path, dir_okay=False), help="The plan YAML file.")(f)
    return click.argument("year", type=int)(f)


@campaign.command("create")
@_campaign_options
@pass_app
def campaign_create(app: App, year: int, plan_path: Path, root: str | None) -> None:
    """Create the YEAR campaign: one cycle per active unit, deadlines from the plan."""
    report = create_campaign(app.db, year, plan_path, app.hierarchy, app.clock, app.actor,
                             root_code=root)
    _say_created(year, report)


def _say_created(year: int, report: CampaignReport) -> None:
    click.echo(_("Created the {year} campaign: {cycles} cycles, {milestones} deadlines.").format(
        year=year, cycles=report.cycles_added, milestones=report.milestones))


@campaign.command("ensure")
@_campaign_options
@pass_app
def campaign_ensure(app: App, year: int, plan_path: Path, root: str | None) -> None:
    """Create the YEAR campaign if missing, else give units added since their cycles."""
    report = create_campaign(app.db, year, plan_path, app.hierarchy, app.clock, app.actor,
                             root_code=root, if_missing=True)
    if report.created:
        _say_created(year, report)
    else:
        click.echo(_("The {year} campaign exists; added {cycles} cycles for new units.").format(
            year=year, cycles=report.cycles_added))
        if report.plan_differs:
            click.echo(_("Note: {file} differs from the plan in use in {count} deadlines; the old "
                         "deadlines are kept. To change them, run `kiemdiem campaign update {year} "
                         "--plan {path} --dry-run`, then without --dry-run.").format(
                file=plan_path.name, count=len(report.plan_differs), year=year, path=plan_path), err=True)
            _print_deadline_changes(app, report.plan_differs, err=True)


@campaign.command("update")
@click.argument("year", type=int)
@click.option("--plan", "plan_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The corrected plan YAML file.")
@click.option("--dry-run", is_flag=True, help="Show the deadline changes and check them; write nothing.")
@pass_app
def campaign_update(app: App, year: int, plan_path: Path, dry_run: bool) -> None:
    """Change the running YEAR campaign's deadlines to the plan's, checked and audited."""
    from workflow.replan import update_plan

    result = update_plan(app.db, year, plan_path, app.hierarchy, app.clock, app.actor,
                         dry_run=dry_run)
    _print_deadline_changes(app, result.changes)
    for code, stage, due in result.superseded:
        click.echo("  " + _("{code}: own deadline for {stage} ({due}) dropped, the new plan gives as "
                            "long or longer").format(code=code, stage=stage,
                                                      due=f"{due.astimezone(app.zone):%d/%m/%Y %H:%M}"))
    if result.policy_changed:
        click.echo("  " + _("reminders, late notices and the plan's other settings change too"))
    if not (result.changes or result.superseded or result.policy_changed):
        click.echo(_("The {year} plan has nothing to change.").format(year=year))
    elif dry_run:
        click.echo(_("Dry run, nothing written: {count} deadlines would change.").format(
            count=len(result.changes)))
    else:
        click.echo(_("Updated the {year} plan: {count} deadlines changed; the scheduler applies them "
                     "at its next sweep.").format(year=year, count=len(result.changes)))


def _print_deadline_changes(app: App, changes: Iterable[DeadlineChange], err: bool = False) -> None:
    def show(at: datetime | None) -> str:
        return f"{at.astimezone(app.zone):%d/%m/%Y %H:%M}" if at else _("(none)")

    for c in changes:
        click.echo(f"  {c.level}.{c.stage}: {show(c.old)} → {show(c.new)}", err=err)


@group()
def deadline() -> None:
    """Per-unit deadlines."""


@deadline.command("extend")
@click.argument("code")
@click.argument("stage")
@click.argument("day", metavar="DATE", type=DATE)
@year_option
@click.option("--rule", type=click.Choice(["before", "by"]), default=None,
              help="'before' (due at 00:00 that day) or 'by' (end of that day); default: the plan's.")
@click.option("--reason", required=True, help="Why, for the audit log.")
@pass_app
def deadline_extend(app: App, code: str, stage: str, day: date, year: int | None,
                    rule: str | None, reason: str) -> None:
    """Give CODE its own deadline for STAGE, within its parent's deadline (audited)."""
    old, new = app.deadline_service().extend(
        code, stage, day, year=year, rule=rule, reason=reason, actor=app.actor)
    click.echo(_("{code}: deadline for {stage} moved from {old} to {new}.").format(
        code=code, stage=stage, old=f"{old.astimezone(app.zone):%d/%m/%Y %H:%M}",
        new=f"{new.astimezone(app.zone):%d/%m/%Y %H:%M}"))


@command()
def diagram() -> None:
    """Print the state machine as a Mermaid diagram."""
    click.echo(mermaid())


COMMANDS = [init, units, campaign, deadline, diagram]

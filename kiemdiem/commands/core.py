"""Commands of the core: schema, units, campaigns, stages, status, overdue and the audit trail."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from sqlalchemy.orm import Session

from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import json_option, year_option
from kiemdiem.output import emit
from kiemdiem.timeparse import DATE
from kiemdiem.unitdiff import print_import
from workflow.campaigns import add_missing_cycles, create_campaign
from workflow.lookup import current_campaign, find_unit
from workflow.machine import mermaid
from workflow.queries import tree_rows
from workflow.units import ImportOptions, import_units


@click.command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the schema (Alembic migrations)."""
    from workflow.schema import upgrade  # Alembic is slow to import; only `init` needs it

    heads = upgrade(app.db)
    click.echo(f"Cơ sở dữ liệu đã sẵn sàng ({app.db.dialect}; phiên bản {', '.join(heads)}).")


@click.group()
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
    db = app.ready_db()
    options = ImportOptions(clear_empty=clear_empty, deactivate_missing=deactivate_missing,
                            dry_run=dry_run, encoding=encoding)

    def top_up(session: Session) -> None:
        latest = current_campaign(session)
        if latest is not None:
            added = add_missing_cycles(session, latest, app.clock)
            if added:
                click.echo(f"Đã thêm {added} chu kỳ cho đơn vị mới vào đợt {latest.year}.")

    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("Nhập đơn vị", total=None)
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
    with app.ready_db().session() as session:
        under = find_unit(session, code) if code else None
        rows = tree_rows(session, under)
        if as_json:
            emit(rows, ["code", "name", "level", "parent", "secretary", "email", "zalo_user_id",
                        "phone", "has_committee", "active"], as_json=True)
            return
        _print_tree(rows, app)


def _print_tree(rows, app: App) -> None:  # type: ignore[no-untyped-def]
    from rich.text import Text
    from rich.tree import Tree

    from kiemdiem.output import literal_console

    roots: list[Tree] = []
    nodes: dict[str, Tree] = {}
    for row in rows:
        # styled pieces appended as Text: names with "[...]" or ":x:" print literally
        label = Text(row["code"], style="bold").append(f" {row['name']} ")
        about = app.hierarchy.label(row["level"])
        if row["secretary"]:
            about += f"; bí thư {row['secretary']}"
        label.append(f"({about})", style="dim")
        if not row["active"]:
            label.append(" ngừng hoạt động", style="red")
        parent = nodes.get(row["parent"] or "")
        node = parent.add(label) if parent else Tree(label)
        if parent is None:
            roots.append(node)
        nodes[row["code"]] = node
    console = literal_console()
    for root in roots:
        console.print(root)
    if not roots:
        console.print("(chưa có đơn vị nào)")


@click.group()
def campaign() -> None:
    """Issue a year's plan to the units."""


def _campaign_options(f):  # type: ignore[no-untyped-def]
    f = click.option("--root", default=None, help="Only units under this code (default: all).")(f)
    f = click.option("--plan", "plan_path", required=True,
                     type=click.Path(path_type=Path, dir_okay=False), help="The plan YAML file.")(f)
    return click.argument("year", type=int)(f)


@campaign.command("create")
@_campaign_options
@pass_app
def campaign_create(app: App, year: int, plan_path: Path, root: str | None) -> None:
    """Create the YEAR campaign: one cycle per active unit, deadlines from the plan."""
    report = create_campaign(app.ready_db(), year, plan_path, app.hierarchy, app.clock, app.actor,
                             root_code=root)
    click.echo(f"Đã tạo đợt kiểm điểm {year}: {report.cycles_added} chu kỳ, "
               f"{report.milestones} mốc thời hạn.")


@campaign.command("ensure")
@_campaign_options
@pass_app
def campaign_ensure(app: App, year: int, plan_path: Path, root: str | None) -> None:
    """Create the YEAR campaign if missing, else give units added since their cycles."""
    report = create_campaign(app.ready_db(), year, plan_path, app.hierarchy, app.clock, app.actor,
                             root_code=root, if_missing=True)
    if report.created:
        click.echo(f"Đã tạo đợt kiểm điểm {year}: {report.cycles_added} chu kỳ, "
                   f"{report.milestones} mốc thời hạn.")
    else:
        click.echo(f"Đợt kiểm điểm {year} đã có; thêm {report.cycles_added} chu kỳ cho đơn vị mới.")
        if report.plan_differs:
            click.echo(f"Chú ý: {plan_path.name} khác kế hoạch đang dùng ở {len(report.plan_differs)} hạn; "
                       f"các hạn cũ được giữ. Để đổi, chạy `kiemdiem campaign update {year} "
                       f"--plan {plan_path} --dry-run` rồi bỏ --dry-run.", err=True)
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

    result = update_plan(app.ready_db(), year, plan_path, app.hierarchy, app.clock, app.actor,
                         dry_run=dry_run)
    _print_deadline_changes(app, result.changes)
    for code, stage, due in result.superseded:
        click.echo(f"  {code}: bỏ hạn riêng {stage} ({due.astimezone(app.zone):%d/%m/%Y %H:%M}), "
                   "kế hoạch mới đã cho bằng hoặc lâu hơn")
    if result.policy_changed:
        click.echo("  nhắc hạn, quá hạn và các thiết lập khác của kế hoạch cũng đổi")
    if not (result.changes or result.superseded or result.policy_changed):
        click.echo(f"Kế hoạch {year} không có gì thay đổi.")
    elif dry_run:
        click.echo(f"Chạy thử, chưa ghi gì: {len(result.changes)} hạn sẽ đổi.")
    else:
        click.echo(f"Đã cập nhật kế hoạch {year}: {len(result.changes)} hạn đổi; bộ lập lịch "
                   "áp dụng ở lần quét kế tiếp.")


def _print_deadline_changes(app: App, changes, err: bool = False) -> None:  # type: ignore[no-untyped-def]
    def show(at):  # type: ignore[no-untyped-def]
        return f"{at.astimezone(app.zone):%d/%m/%Y %H:%M}" if at else "(không có)"

    for c in changes:
        click.echo(f"  {c.level}.{c.stage}: {show(c.old)} → {show(c.new)}", err=err)


@click.group()
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
    from workflow.extensions import DeadlineService

    old, new = DeadlineService(app.ready_db(), app.clock).extend(
        code, stage, day, year=year, rule=rule, reason=reason, actor=app.actor)
    click.echo(f"{code}: hạn {stage} từ {old.astimezone(app.zone):%d/%m/%Y %H:%M} "
               f"thành {new.astimezone(app.zone):%d/%m/%Y %H:%M}.")


@click.command()
def diagram() -> None:
    """Print the state machine as a Mermaid diagram."""
    click.echo(mermaid())


COMMANDS = [init, units, campaign, deadline, diagram]

"""`kiemdiem progress import FILE [--dry-run]`: many stages recorded at once from a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import click

from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import group, year_option
from kiemdiem.reports import progress_lines
from workflow.progress import ALIASES, ProgressImport
from workflow.tabular import read_rows


@group()
def progress() -> None:
    """Progress reported on paper, recorded from a spreadsheet."""


@progress.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@year_option
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@pass_app
def progress_import(app: App, file: Path, year: int | None, dry_run: bool) -> None:
    """Record the stages in FILE (CSV/XLSX columns `code`, `stage`, `date`[, `note`]); all rows or none."""
    columns, rows = read_rows(file, aliases=ALIASES)
    report = ProgressImport(app.db, app.cycle_service()).run(
        columns, rows, actor=app.actor, year=year, dry_run=dry_run)
    for line in progress_lines(report):
        click.echo(line)


COMMANDS = [progress]

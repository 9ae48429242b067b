"""`kiemdiem progress import FILE [--dry-run]`: many stages recorded at once from a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import click

from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import year_option
from workflow.progress import ALIASES, ProgressImport, ProgressReport
from workflow.stages import LABEL
from workflow.tabular import read_rows

#: a dry run lists each change up to this many, then only the counts
SHOWN = 50


@click.group()
def progress() -> None:
    """Progress reported on paper, recorded from a spreadsheet."""


@progress.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@year_option
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@pass_app
def progress_import(app: App, file: Path, year: int | None, dry_run: bool) -> None:
    """Record the stages in FILE (CSV/XLSX: code, stage, date[, note]); all rows or none."""
    columns, rows = read_rows(file, aliases=ALIASES)
    report = ProgressImport(app.ready_db(), app.cycle_service()).run(
        columns, rows, actor=app.actor, year=year, dry_run=dry_run)
    for line in summary(report):
        click.echo(line)


def summary(report: ProgressReport) -> list[str]:
    """The import's outcome in Vietnamese: what moved (or would), what was already done."""
    verb = "Sẽ ghi" if report.dry_run else "Đã ghi"
    lines = [f"{verb} {report.steps} bước của {report.units} đơn vị từ {report.rows} dòng"
             f"{' (chạy thử, chưa ghi gì)' if report.dry_run else ''}."]
    if report.dry_run:
        lines += [f"  dòng {line}: {code}: {before} → {after} ({LABEL[after]})"
                  for line, code, before, after in report.changes[:SHOWN]]
        if len(report.changes) > SHOWN:
            lines.append(f"  … và {len(report.changes) - SHOWN} bước khác.")
    lines += [f"  {n} đơn vị: {before} → {after}" for (before, after), n in sorted(report.moves.items())]
    if report.also_moved:
        lines.append(f"  đã tổng hợp theo cấp trên: {len(report.also_moved)} đơn vị")
    if report.already_done:
        lines.append(f"Đã hoàn thành từ trước ({len(report.already_done)} dòng, không ghi lại):")
        lines += [f"  {sentence}" for sentence in report.already_done[:SHOWN]]
        if len(report.already_done) > SHOWN:
            lines.append(f"  … và {len(report.already_done) - SHOWN} dòng khác.")
    return lines


COMMANDS = [progress]

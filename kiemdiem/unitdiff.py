"""Print what a units import changed, or in a dry run would change, field by field.

The office reads this before and after re-importing the tree in the middle of a season: a
line per new, changed (old → new per field), moved and deactivated unit, the empty cells
that kept a stored value, and the units the file does not list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from workflow.units import ImportOptions, ImportReport

#: units "not in the file" named after a real import (a dry run names them all)
MISSING_SHOWN = 20


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(trống)"
    if isinstance(value, bool):
        return "có" if value else "không"
    return str(value)


def summary_line(report: ImportReport) -> str:
    """The counts, the same words for a dry run and for a real import."""
    s = report.summary()
    return (f"{s['created']} đơn vị mới, {s['updated']} cập nhật, {s['deactivated']} ngừng hoạt động, "
            f"{s['unchanged']} không đổi; {s['moved']} chuyển cấp trên, {s['kept']} ô trống giữ "
            f"nguyên giá trị cũ, {s['missing']} đơn vị không có trong tệp")


def print_import(file: Path, report: ImportReport, options: ImportOptions) -> None:
    """Print the import's warnings, its diff (in full for a dry run) and its summary line."""
    for warning in report.warnings:
        click.echo(f"Chú ý: {warning}", err=True)
    if options.dry_run:
        lines = [f"+ {code}" for code in report.created]
        for code, changes in report.changes.items():
            mark = "-" if code in report.deactivated else "~"
            fields = "; ".join(f"{key}: {_show(old)} → {_show(new)}" for key, (old, new) in changes.items())
            lines.append(f"{mark} {code}: {fields}")
        lines += [f"= {code}: giữ {key} (ô trống; --clear-empty để xóa)" for code, key in report.kept]
        if not options.deactivate_missing:
            lines += [f"? {code}: không có trong tệp (--deactivate-missing để ngừng hoạt động)"
                      for code in report.missing]
        if lines:
            click.echo("\n".join(lines))
        click.echo(f"Chạy thử {file.name}, chưa ghi gì: {summary_line(report)}.")
        return
    if report.missing and not options.deactivate_missing:
        shown = ", ".join(report.missing[:MISSING_SHOWN])
        more = f" và {len(report.missing) - MISSING_SHOWN} đơn vị khác" if len(report.missing) > MISSING_SHOWN else ""
        click.echo(f"Chú ý: {len(report.missing)} đơn vị đang hoạt động không có trong tệp và được giữ "
                   f"nguyên: {shown}{more}; dùng --deactivate-missing để ngừng hoạt động.", err=True)
    click.echo(f"Đã nhập {file.name}: {summary_line(report)}.")

"""Print what a units import changed, or in a dry run would change, field by field.

The office reads this before and after re-importing the tree in the middle of a season: a
line per new, changed (old → new per field), moved and deactivated unit, the empty cells
that kept a stored value, and the units the file does not list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from config.i18n import _
from kiemdiem.wording import say
from workflow.units import ImportOptions, ImportReport

#: units "not in the file" named after a real import (a dry run names them all)
MISSING_SHOWN = 20


def _show(value: Any) -> str:
    if value is None or value == "":
        return _("(empty)")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def summary_line(report: ImportReport) -> str:
    """The counts, the same words for a dry run and for a real import."""
    s = report.summary()
    return _("{created} new units, {updated} updated, {deactivated} deactivated, {unchanged} unchanged; "
             "{moved} moved to another parent, {kept} empty cells kept the old value, {missing} units "
             "not in the file").format(**s)


def print_import(file: Path, report: ImportReport, options: ImportOptions) -> None:
    """Print the import's warnings, its diff (in full for a dry run) and its summary line."""
    for warning in report.warnings:
        click.echo(_("Note: {warning}").format(warning=say(warning)), err=True)
    if options.dry_run:
        lines = [f"+ {code}" for code in report.created]
        for code, changes in report.changes.items():
            mark = "-" if code in report.deactivated else "~"
            fields = "; ".join(f"{key}: {_show(old)} → {_show(new)}" for key, (old, new) in changes.items())
            lines.append(f"{mark} {code}: {fields}")
        lines += ["= " + _("{code}: keeps {field} (empty cell; --clear-empty to clear it)").format(
            code=code, field=key) for code, key in report.kept]
        if not options.deactivate_missing:
            lines += ["? " + _("{code}: not in the file (--deactivate-missing to deactivate it)").format(code=code)
                      for code in report.missing]
        if lines:
            click.echo("\n".join(lines))
        click.echo(_("Dry run of {file}, nothing written: {summary}.").format(
            file=file.name, summary=summary_line(report)))
        return
    if report.missing and not options.deactivate_missing:
        shown = ", ".join(report.missing[:MISSING_SHOWN])
        if len(report.missing) > MISSING_SHOWN:
            shown += _(" and {count} other units").format(count=len(report.missing) - MISSING_SHOWN)
        click.echo(_("Note: {count} active units are not in the file and are kept as they are: {units}; "
                     "use --deactivate-missing to deactivate them.").format(
            count=len(report.missing), units=shown), err=True)
    click.echo(_("Imported {file}: {summary}.").format(file=file.name, summary=summary_line(report)))

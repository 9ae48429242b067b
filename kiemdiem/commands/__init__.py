"""The CLI's commands, one module per area, each imported only when one of its commands runs.

Importing every area costs about a third of start-up (the results rules, the sweep, the
monitor), and one `advance` needs only the core: so the group knows which module holds
which command and imports that module on first use. `--help` lists them all.
"""

from __future__ import annotations

from importlib import import_module

import click

#: the commands of each area module (`kiemdiem/commands/<area>.py`, its `COMMANDS` list)
AREAS = {
    "core": ("init", "units", "campaign", "deadline", "diagram"),
    "listings": ("status", "overdue", "audit"),
    "cycles": ("advance", "reopen"),
    "results": ("results", "report"),
    "schedule": ("remind", "simulate", "serve"),
    "outbox": ("outbox", "dispatch"),
    "web": ("web", "user"),
    "links": ("links",),
    "progress": ("progress",),
}
NAMES = sorted(name for names in AREAS.values() for name in names)

#: options several areas share
json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
year_option = click.option("--year", type=int, default=None, help="Campaign year (default: the latest).")


def load(name: str) -> click.Command | None:
    """The command called `name`, importing its area's module; None for an unknown name."""
    area = next((area for area, names in AREAS.items() if name in names), None)
    if area is None:
        return None
    module = import_module(f"kiemdiem.commands.{area}")
    return next(command for command in module.COMMANDS if command.name == name)

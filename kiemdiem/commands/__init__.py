"""The CLI's commands, one module per area; `register` adds them all to the group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add every area's commands to the top-level group."""
    from kiemdiem.commands import core, outbox, results, schedule, web

    for module in (core, results, schedule, outbox, web):
        for command in module.COMMANDS:
            group.add_command(command)

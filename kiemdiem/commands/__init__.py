"""The CLI's commands, one module per area, each imported only when one of its commands runs.

Importing every area is a large share of start-up (the results rules, the sweep, the
monitor), and one `advance` needs only the core: so the group knows which module holds
which command and imports that module on first use. `--help` lists them all.

Every area builds its commands with `command`/`group` below, whose help texts are msgids
rendered in the chosen language (`config.i18n`) each time `--help` is asked for.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from importlib import import_module
from typing import Any

import click

from config.i18n import _

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


class Text(str):
    """A help text whose values are filled in after translation: the msgid stays the same
    whatever the values (`Text("Target stage ({stages}).", stages="…")`)."""

    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> Text:
        text = super().__new__(cls, msgid)
        text.values = values
        return text


class TextOption(click.Option):
    """An option whose `help=` may be a `Text`: kept as given (click cleans help into a plain
    `str`, which would lose the values)."""

    def __init__(self, param_decls: Sequence[str] | None = None, help: str | None = None, **kwargs: Any) -> None:
        super().__init__(param_decls, help=help, **kwargs)
        if isinstance(help, Text):
            self.help = help


def translate(text: str | None) -> str | None:
    """A docstring or `help=` text in the chosen language (its msgid is the cleaned text)."""
    if not text:
        return text
    translated = _(inspect.cleandoc(text))
    return translated.format(**text.values) if isinstance(text, Text) else translated


@contextmanager
def _translated(*objects: Any) -> Iterator[None]:
    """Show the help texts of `objects` translated while click renders them, then put the
    msgids back: the language is read at each rendering, never fixed at import."""
    saved = [(o, o.help) for o in objects if getattr(o, "help", None)]
    for o, text in saved:
        o.help = translate(text)
    try:
        yield
    finally:
        for o, text in saved:
            o.help = text


#: click's own help text of `--help` (a msgid of its catalog)
HELP_OPTION_HELP = "Show this message and exit."
#: the `--help` options already given their msgid (each command's, built once by click)
_HELP_OPTIONS: set[click.Option] = set()


class Command(click.Command):
    """A command whose `--help` is rendered from the message catalogs."""

    def get_help(self, ctx: click.Context) -> str:
        with _translated(self, *self.get_params(ctx)):
            return super().get_help(ctx)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        # click builds the option once, its help in the language of that moment: make it the
        # msgid, once (later calls come while `_translated` shows it translated)
        option = super().get_help_option(ctx)
        if option is not None and option not in _HELP_OPTIONS:
            option.help = HELP_OPTION_HELP
            _HELP_OPTIONS.add(option)
        return option

    def get_short_help_str(self, limit: int = 45) -> str:
        with _translated(self):
            return super().get_short_help_str(limit)


class Group(Command, click.Group):
    """A group whose `--help`, and whose subcommands', are rendered from the message catalogs."""

    command_class = Command
    group_class = type  # a subgroup is a Group too


#: the decorators every area uses, so that every help text goes through the catalogs
command = partial(click.command, cls=Command)
group = partial(click.group, cls=Group)

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

"""The admin CLI: `kiemdiem [--db URL] [--now ISO-DATETIME] COMMAND` (the README's "The CLI").

Exit codes: 0 success, 1 a refused action, 2 bad usage or bad input. Errors are one
sentence on stderr (problems of a file follow, one per line), never a traceback: the use cases
raise a code and its data (`workflow.errors`), worded here by `kiemdiem.wording.say`.
Each area's commands live in `kiemdiem/commands/<area>.py`, imported when one of them runs.
"""

from __future__ import annotations

import getpass
import os
import sys
from datetime import datetime
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from config.errors import ConfigError
from config.i18n import _, ngettext
from config.settings import Settings
from kiemdiem import commands
from kiemdiem.app import App
from kiemdiem.timeparse import INSTANT
from kiemdiem.wording import said_problems, say
from workflow.clock import fixed_clock, system_clock
from workflow.errors import BadInput, KiemdiemError


class KiemdiemGroup(commands.Group):
    """A click group that turns the project's errors into exit codes and one sentence.

    Its commands are found by name in `kiemdiem.commands` and imported on first use.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return commands.NAMES

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return commands.load(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (KiemdiemError, ConfigError) as exc:
            _fail(say(exc), said_problems(exc), exc.exit_code)
        except DBAPIError as exc:
            if _schema_missing(exc):
                _fail(_("the database schema is missing or old: run `kiemdiem init` first."), [], 1)
            app = ctx.obj
            where = _safe_url(app.settings.database_url) if isinstance(app, App) else "?"
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            _fail(_("the database {where} failed: {reason}").format(where=where, reason=reason), [], 1)
        finally:
            app = ctx.obj
            if isinstance(app, App):
                app.close()


def _fail(message: str, problems: list[str], code: int) -> None:
    click.echo(_("Error: {message}").format(message=message), err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(code)


@click.group(cls=KiemdiemGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", envvar="KIEMDIEM_DATABASE_URL", default=None,
              help="Database URL (default sqlite:///kiemdiem.db; or KIEMDIEM_DATABASE_URL).")
@click.option("--now", "now", type=INSTANT, default=None,
              help="Pretend it is this instant for the whole command (ISO 8601, local if no offset).")
@click.option("--as", "actor", default=None, help="Who is acting, for the audit log (default: login name).")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, now: datetime | None, actor: str | None) -> None:
    """kiemdiem — follow the annual review, assessment and quality classification of party organisations."""
    try:
        settings = Settings.from_env(database_url=db_url)
    except ConfigError as exc:
        _fail(say(exc), said_problems(exc), exc.exit_code)
    ctx.obj = App(
        settings=settings,
        clock=fixed_clock(now) if now else system_clock,
        actor=actor or os.environ.get("KIEMDIEM_ACTOR") or _login_name(),
    )


#: undefined_table and undefined_column on PostgreSQL; SQLite only says it in words
PG_SCHEMA_MISSING = {"42P01", "42703"}
SQLITE_SCHEMA_MISSING = ("no such table", "no such column")


def _schema_missing(exc: DBAPIError) -> bool:
    """Say whether a database error means the migrations have not been run."""
    if getattr(exc.orig, "sqlstate", None) in PG_SCHEMA_MISSING:
        return True
    return any(marker in str(exc.orig).lower() for marker in SQLITE_SCHEMA_MISSING)


def _safe_url(url: str) -> str:
    """Render a database URL without its password, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given
        return url


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


pass_app = click.make_pass_decorator(App)


def _speak_the_chosen_language() -> None:
    """Give click's own messages ("Usage:", "Missing argument"…) the project's catalogs.

    Click looks its messages up with the standard library's global `gettext`, bound in each of
    its modules at import; that global reads `.mo` files and the locale variables, not
    `KIEMDIEM_LANG`, so each module's binding is pointed at the project's functions instead.
    """
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.termui
    import click.types
    import click.utils

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser,
                   click.termui, click.types, click.utils):
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]


_speak_the_chosen_language()


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="kiemdiem", standalone_mode=True)
    except BadInput as exc:  # raised outside a command (e.g. while parsing the URL)
        _fail(say(exc), said_problems(exc), 2)

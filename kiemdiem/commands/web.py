"""Commands of the web monitor: `web` (serve it alone) and `user` (its accounts)."""

from __future__ import annotations

import sys

import click

from config.i18n import _
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import command, group
from kiemdiem.output import emit

stdin_option = click.option("--password-stdin", is_flag=True,
                            help="Read the password from stdin instead of generating one.")


@command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              envvar="KIEMDIEM_WEB_WORKERS",
              help="Processes serving the monitor on the one socket (about one per core).")
@pass_app
def web(app: App, host: str, port: int, workers: int) -> None:
    """Serve the read-only monitor (without the scheduler; `serve` runs both)."""
    from kiemdiem import jsonlog
    from kiemdiem.web import run_web  # Starlette and uvicorn only when serving

    jsonlog.configure()  # stdout carries the log, one JSON object per line; the operator's note goes to stderr
    click.echo(_("Monitor: http://{host}:{port}/  (Ctrl-C to stop)").format(host=host, port=port), err=True)
    run_web(app, host, port, workers)


@group()
def user() -> None:
    """Accounts of the web monitor."""


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password from stdin (first line), or a generated one (and say so)."""
    from kiemdiem.web.accounts import generate_password

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return generate_password(), True


@user.command("add")
@click.argument("name")
@click.option("--unit", "unit_code", required=True, help="The user sees this unit and everything under it.")
@stdin_option
@click.option("--if-missing", is_flag=True, help="Do nothing (exit 0) when the account exists already.")
@pass_app
def user_add(app: App, name: str, unit_code: str, password_stdin: bool, if_missing: bool) -> None:
    """Create an account that sees the subtree of UNIT; prints a generated password."""
    from kiemdiem.web.accounts import add_user, list_users

    if if_missing and any(u["name"] == name for u in list_users(app.db)):
        click.echo(_("Account {name} exists; reset its password with `kiemdiem user password {name}`.").format(
            name=name))
        return
    password, generated = _password(password_stdin)
    add_user(app.db, name, unit_code, password, app.clock)
    click.echo(_("Created account {name} (unit {unit}).").format(name=name, unit=unit_code))
    if generated:
        click.echo(_("Password: {password}").format(password=password))


@user.command("password")
@click.argument("name")
@stdin_option
@pass_app
def user_password(app: App, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME; ends every session of NAME."""
    from kiemdiem.web.sessions import set_password

    password, generated = _password(password_stdin)
    ended = set_password(app.db, name, password)
    click.echo(_("Set a new password for {name}; ended {count} sessions.").format(name=name, count=ended))
    if generated:
        click.echo(_("Password: {password}").format(password=password))


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@pass_app
def user_list(app: App, as_json: bool) -> None:
    """The accounts: name, unit, active, last login."""
    from kiemdiem.web.accounts import list_users

    emit(list_users(app.db), ["name", "unit", "unit_name", "active", "last_login_at"],
         as_json, title=_("Monitor accounts"))


@user.command("disable")
@click.argument("name")
@pass_app
def user_disable(app: App, name: str) -> None:
    """Disable NAME: ends its sessions and refuses its logins until `enable`."""
    from kiemdiem.web.sessions import set_active

    ended = set_active(app.db, name, False)
    click.echo(_("Disabled account {name}; ended {count} sessions.").format(name=name, count=ended))


@user.command("enable")
@click.argument("name")
@pass_app
def user_enable(app: App, name: str) -> None:
    """Enable NAME again (its password is unchanged)."""
    from kiemdiem.web.sessions import set_active

    set_active(app.db, name, True)
    click.echo(_("Enabled account {name}.").format(name=name))


@user.command("sessions")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@pass_app
def user_sessions(app: App, name: str, as_json: bool) -> None:
    """The live sessions of NAME: started, last seen, ends, address, browser."""
    from kiemdiem.web.sessions import list_sessions

    emit(list_sessions(app.db, name, app.clock()),
         ["created_at", "last_seen_at", "expires_at", "address", "agent"], as_json,
         title=_("Sessions of {name}").format(name=name))


COMMANDS = [web, user]

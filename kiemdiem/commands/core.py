"""Commands of the core: schema, units, campaigns, stages, status and the audit trail."""

from __future__ import annotations

import click

from kiemdiem.app import App
from kiemdiem.cli import pass_app
from workflow.schema import upgrade


@click.command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the schema (Alembic migrations)."""
    heads = upgrade(app.db)
    click.echo(f"Cơ sở dữ liệu đã sẵn sàng ({app.db.dialect}; phiên bản {', '.join(heads)}).")


COMMANDS = [init]

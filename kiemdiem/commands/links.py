"""Commands of the units' personal links: `links show|revoke|export`.

A link is the key to a unit's page (`/r/<token>`): `show` prints it for reading out over the
phone, `revoke` kills it and issues a new one (audited), `export` writes every unit's link
under a unit to a spreadsheet for an office that hands them out itself. The output is the
only place a link is printed: nothing of it goes to a log.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import select
from sqlalchemy.orm import aliased

from config.i18n import _
from kiemdiem.app import App
from kiemdiem.cli import pass_app
from kiemdiem.commands import group, year_option
from workflow.errors import BadInput, NotFound
from workflow.lookup import find_unit, get_campaign
from workflow.models import Cycle, Unit

if TYPE_CHECKING:
    from workflow.spreadsheet import Kind

#: the spreadsheet's columns: header (a msgid), kind of cell, width
COLUMNS: tuple[tuple[str, Kind, int], ...] = (
           ("Unit code", "text", 16), ("Unit name", "text", 40), ("Level", "text", 12),
           ("Parent unit", "text", 16), ("Secretary", "text", 24), ("Email", "text", 30),
           ("Phone", "phone", 14), ("Personal link", "text", 60))


@group()
def links() -> None:
    """The units' personal links (no account needed): show, revoke, export."""


@links.command("show")
@click.argument("code")
@year_option
@pass_app
def links_show(app: App, code: str, year: int | None) -> None:
    """Print a unit's personal link for the campaign (the latest by default)."""
    with app.db.session(write=True) as session:
        campaign = get_campaign(session, year)
        unit = find_unit(session, code)
        token = app.links.token(session, campaign.id, unit.id)
    if token is None:
        raise NotFound("link.unit_not_in_campaign", code=code, year=campaign.year)
    click.echo(app.links.url(token))


@links.command("revoke")
@click.argument("code")
@year_option
@pass_app
def links_revoke(app: App, code: str, year: int | None) -> None:
    """Kill a unit's link and issue a new one; the old link then says it was revoked."""
    with app.db.session(write=True) as session:
        campaign = get_campaign(session, year)
        unit = find_unit(session, code)
        token = app.links.revoke(session, campaign, unit, app.actor, "cli")
    click.echo(_("Revoked the old link of {code}; the new link (messages carry it from now on):").format(code=code))
    click.echo(app.links.url(token))


@links.command("export")
@click.option("--under", "under", default=None, help="Only this unit and the units under it.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The .xlsx file to write.")
@year_option
@pass_app
def links_export(app: App, under: str | None, output: Path, year: int | None) -> None:
    """Write every unit's link (under CODE) to an .xlsx file, one row per unit."""
    from workflow.spreadsheet import Column, XlsxWriter  # openpyxl is slow to import: only here

    if output.suffix.lower() != ".xlsx":
        raise BadInput("links.export_xlsx", file=output)
    with app.db.session(write=True) as session:
        campaign = get_campaign(session, year)
        parent = aliased(Unit)
        query = (select(Unit.id, Unit.code, Unit.name, Unit.level, parent.code.label("parent"),
                        Unit.secretary, Unit.email, Unit.phone)
                 .join(Cycle, Cycle.unit_id == Unit.id).outerjoin(parent, parent.id == Unit.parent_id)
                 .where(Cycle.campaign_id == campaign.id).order_by(Unit.path))
        if under:
            query = query.where(Unit.path.like(find_unit(session, under).path + "%"))
        rows = session.execute(query).all()
        tokens = app.links.tokens(session, campaign.id)
    book = XlsxWriter(app.zone, title=_("The units' personal links — {year} campaign").format(year=campaign.year))
    columns = [Column(_(header), kind, width) for header, kind, width in COLUMNS]
    book.sheet(_("Links {year}").format(year=campaign.year), columns,
               ([r.code, r.name, r.level, r.parent, r.secretary, r.email, r.phone, app.links.url(tokens[r.id])]
                for r in rows))
    try:
        output.write_bytes(book.save())
    except OSError as exc:
        raise BadInput("file.cannot_write", file=output, reason=exc.strerror) from exc
    click.echo(_("Wrote the links of {count} units to {file}.").format(count=len(rows), file=output), err=True)


COMMANDS = [links]

"""Finding what a command names: a unit by code, a campaign by year, a unit's cycle in it.

Kept apart from the importer and the campaign creator, which load the plan and hierarchy
models (pydantic, YAML): a command that moves one cycle needs only these look-ups, and every
module it imports is start-up time (`advance` has a 0.5 s budget, start-up included).
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import Integer, and_, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from workflow.errors import NotFound
from workflow.models import Campaign, Cycle, Unit


def canonical_code(code: str) -> str:
    """The one form a unit code is stored and compared in: stripped, NFC, upper case.

    Offices type `gl-ts` and `GL-TS` for the same unit; both must find it.
    """
    code = code.strip()
    return (code if code.isascii() else unicodedata.normalize("NFC", code)).upper()


def find_unit(session: Session, code: str) -> Unit:
    """Return the unit with `code` (in any letter case), or say clearly that there is none."""
    unit = session.scalar(_UNIT, {"code": canonical_code(code)})
    if unit is None:
        raise NotFound("unit.unknown", code=code)
    return unit


def current_campaign(session: Session) -> Campaign | None:
    """The campaign in season: the latest year's. Older campaigns raise no more alerts."""
    return session.scalars(select(Campaign).order_by(Campaign.year.desc()).limit(1)).first()


def get_campaign(session: Session, year: int | None) -> Campaign:
    """Return the campaign of `year`, or the latest one when no year is given."""
    campaign = session.scalar(_OF_YEAR, {"year": year}) if year else session.scalar(_LATEST)
    if campaign is None:
        raise NotFound("campaign.unknown", year=year) if year else NotFound("campaign.none")
    return campaign


def load_cycle(session: Session, code: str, year: int | None) -> tuple[Campaign, Unit, Cycle]:
    """Return the campaign, unit and cycle a command names, or say clearly which is missing.

    One statement when all three exist (each moved cycle, so each round trip counts on
    PostgreSQL); the look-ups one by one only to say which is missing."""
    found = session.execute(_LOADED, {"code": canonical_code(code), "year": year}).first()
    if found is not None:
        return found.Campaign, found.Unit, found.Cycle
    campaign = get_campaign(session, year)
    unit = find_unit(session, code)
    cycle = session.scalar(_CYCLE, {"campaign_id": campaign.id, "unit_id": unit.id})
    if cycle is None:
        raise NotFound("cycle.none", code=code, year=campaign.year)
    return campaign, unit, cycle


# built once with bind parameters: a statement built per call costs its construction and
# cache key each time, more than the look-up itself on SQLite
_UNIT = select(Unit).where(Unit.code == bindparam("code"))
_OF_YEAR = select(Campaign).where(Campaign.year == bindparam("year")).limit(1)
_LATEST = select(Campaign).order_by(Campaign.year.desc()).limit(1)
_CYCLE = select(Cycle).where(Cycle.campaign_id == bindparam("campaign_id"),
                             Cycle.unit_id == bindparam("unit_id"))
_ANY = aliased(Campaign)
_LOADED = (
    select(Campaign, Unit, Cycle)
    .select_from(Unit)
    .join(Campaign, Campaign.year == func.coalesce(bindparam("year", type_=Integer),
                                                   select(func.max(_ANY.year)).scalar_subquery()))
    .join(Cycle, and_(Cycle.campaign_id == Campaign.id, Cycle.unit_id == Unit.id))
    .where(Unit.code == bindparam("code"))
)

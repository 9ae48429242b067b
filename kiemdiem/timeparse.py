"""Parse the dates and instants a user types: ISO 8601, local time when no offset is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import click

from config.zone import DEFAULT_ZONE

#: the years a campaign may have (a plan's `year`); outside them an instant is a typo, and
#: year 1 or 9999 would overflow when moved to UTC
FIRST_YEAR, LAST_YEAR = 2000, 2100


def parse_instant(value: str, tz: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """Read `2026-11-21`, `2026-11-21T08:00` or `2026-11-21T08:00+07:00` as an aware instant.

    A value without an offset is local time (Asia/Ho_Chi_Minh); a bare date is its midnight.
    """
    text = value.strip()
    try:
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), time(0, 0))
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"'{value}' is not a date or time; use ISO 8601 such as 2026-11-21 or 2026-11-21T08:00+07:00"
        ) from exc
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise click.BadParameter(f"'{value}': năm {parsed.year} nằm ngoài {FIRST_YEAR}–{LAST_YEAR}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def parse_date(value: str) -> date:
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise click.BadParameter(f"'{value}' is not a date; use YYYY-MM-DD such as 2026-11-20") from exc
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise click.BadParameter(f"'{value}': năm {parsed.year} nằm ngoài {FIRST_YEAR}–{LAST_YEAR}")
    return parsed


class _Parsed(click.ParamType):
    """A click parameter read by one of the parsers above, with its message on failure."""

    def __init__(self, name: str, parse: Callable[[str], object], kind: type) -> None:
        self.name, self._parse, self._kind = name, parse, kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self._kind):
            return value
        try:
            return self._parse(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


INSTANT = _Parsed("ISO-DATETIME", parse_instant, datetime)
DATE = _Parsed("DATE", parse_date, date)

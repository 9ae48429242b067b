"""Parse the dates and instants a user types: ISO 8601, local time when no offset is given."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import click

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def parse_instant(value: str, tz: ZoneInfo = LOCAL) -> datetime:
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
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise click.BadParameter(f"'{value}' is not a date; use YYYY-MM-DD such as 2026-11-20") from exc


class InstantType(click.ParamType):
    name = "ISO-DATETIME"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, date):
            return value
        try:
            return parse_date(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


INSTANT = InstantType()
DATE = DateType()

"""The SQL expressions that differ between PostgreSQL and SQLite, in one place.

Sweeps build notification rows inside the database (one `INSERT … SELECT`, no rows through
Python) and `overdue --json` streams rows the database rendered, so JSON objects, ISO
instants, local dates and whole days late must be SQL. SQLite stores instants as UTC text
and has no time zones: local times use the fixed offset of Asia/Ho_Chi_Minh (+07:00, no
daylight saving since 1975).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Integer, Select, String, cast, extract, func, literal, null, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from workflow.models import UTCDateTime

LOCAL_ZONE = "Asia/Ho_Chi_Minh"
LOCAL_OFFSET_HOURS = 7
LOCAL_SUFFIX = "+07:00"


def text(value: str) -> ColumnElement[Any]:
    """A string parameter with an explicit type (PostgreSQL cannot infer one inside JSON)."""
    return cast(literal(value), String)


def integer(value: int) -> ColumnElement[Any]:
    return cast(literal(value), Integer)


class Dialect:
    """SQL builders for one backend (`postgresql` or `sqlite`)."""

    def __init__(self, name: str) -> None:
        if name not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported dialect {name}")
        self.name = name

    @property
    def pg(self) -> bool:
        return self.name == "postgresql"

    def insert(self, table: Any) -> Any:
        """Return the dialect's INSERT, which has `on_conflict_do_nothing`."""
        # imported here: the PostgreSQL dialect costs a SQLite listing 70 ms of start-up
        from sqlalchemy.dialects import postgresql, sqlite

        return (postgresql if self.pg else sqlite).insert(table)

    def instant(self, value: datetime) -> ColumnElement[Any]:
        """Bind an aware instant as the column type stores it."""
        return literal(value, UTCDateTime())

    def json_object(self, **pairs: Any) -> ColumnElement[Any]:
        """Build a JSON object; keys are typed, as PostgreSQL's variadic function needs."""
        args: list[Any] = []
        for key, value in pairs.items():
            args += [text(key), value]
        return func.json_build_object(*args) if self.pg else func.json_object(*args)

    def fenced(self, query: Select[Any]) -> Select[Any]:
        """Keep the database from inlining a subquery into the query around it.

        So a subquery of a few rows that renders text is rendered once per row of its own,
        not once per row of the join. The fence is an offset that skips nothing. On
        PostgreSQL it is `OFFSET NULL`: the planner sees `OFFSET 0` as a cast to bigint, not
        a constant, takes it for a real offset and rules out parallel plans for the whole
        query (a `MATERIALIZED` CTE rules them out too).
        """
        return query.offset(null()) if self.pg else query.offset(0)

    def json_members(self, **pairs: Any) -> ColumnElement[Any]:
        """Render members of a JSON object as text, `"key" : value, …`, as `json_object` writes them.

        `json_join` puts runs of members together into the object `json_object` would build,
        byte for byte, so the members a group of rows shares can be rendered once per group
        (`json_build_object` also looks up each argument's type on every row).
        """
        colon = " : " if self.pg else ":"
        rendered: ColumnElement[Any] | None = None
        for key, value in pairs.items():
            member = literal(json.dumps(key) + colon).concat(self.json_quote(value))
            rendered = member if rendered is None else rendered.concat(self._comma).concat(member)
        if rendered is None:
            raise ValueError("an object needs members")
        return rendered

    def json_join(self, *members: ColumnElement[Any]) -> ColumnElement[Any]:
        """Build a JSON object (typed JSON) from runs of members rendered by `json_members`."""
        rendered = literal("{").concat(members[0])
        for run in members[1:]:
            rendered = rendered.concat(self._comma).concat(run)
        rendered = rendered.concat("}")
        return cast(rendered, JSON) if self.pg else type_coerce(rendered, JSON)

    @property
    def _comma(self) -> ColumnElement[Any]:
        return literal(", " if self.pg else ",")

    def json_array_agg(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.json_agg(value) if self.pg else func.json_group_array(value)

    def json_value(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """Keep a JSON value JSON when it comes through a subquery (SQLite loses the subtype)."""
        return value if self.pg else func.json(value)

    def iso_utc(self, instant: ColumnElement[Any]) -> ColumnElement[Any]:
        """Render a stored instant as `2026-11-19T17:00:00Z`."""
        if self.pg:
            return func.to_char(instant.op("AT TIME ZONE")(literal("UTC")),
                                literal('YYYY-MM-DD"T"HH24:MI:SS"Z"'))
        return func.strftime(literal("%Y-%m-%dT%H:%M:%SZ"), instant)

    def local_date(self, instant: ColumnElement[Any], zone: ZoneInfo, at: datetime,
                   shift_days: ColumnElement[Any] | int = 0, fmt: str = "iso") -> ColumnElement[Any]:
        """Render the local date of an instant moved by `shift_days` (`iso` or `compact`)."""
        shift = cast(shift_days, Integer) if not isinstance(shift_days, int) else literal(shift_days)
        if self.pg:
            local = instant.op("AT TIME ZONE")(literal(zone.key))
            moved = local + func.make_interval(0, 0, 0, shift)
            return func.to_char(moved, literal("YYYY-MM-DD" if fmt == "iso" else "YYYYMMDD"))
        offset = at.astimezone(zone).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        return func.strftime(literal("%Y-%m-%d" if fmt == "iso" else "%Y%m%d"), instant,
                             literal(f"{minutes:+d} minutes"),
                             cast(shift, String).concat(literal(" days")))

    def whole_days_since(self, instant: ColumnElement[Any], now: datetime) -> ColumnElement[Any]:
        """Whole days from a stored instant to `now` (DESIGN.md: 10 days 8 hours is 10)."""
        if self.pg:
            seconds = extract("epoch", self.instant(now) - instant)
            return cast(func.floor(seconds / 86400), Integer)

        def epoch(value: ColumnElement[Any]) -> ColumnElement[Any]:
            return cast(func.strftime("%s", value), Integer)

        return (epoch(self.instant(now)) - epoch(instant)) // 86400

    def local_iso(self, instant: ColumnElement[Any]) -> ColumnElement[Any]:
        """An instant as ISO 8601 local time with its offset: 2026-11-20T00:00:00+07:00."""
        if self.pg:
            local = func.timezone(LOCAL_ZONE, instant)
            rendered = func.to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS')
        else:
            rendered = func.strftime("%Y-%m-%dT%H:%M:%S", instant, f"+{LOCAL_OFFSET_HOURS} hours")
        return rendered.concat(LOCAL_SUFFIX)

    def local_day(self, instant: ColumnElement[Any]) -> ColumnElement[Any]:
        """The calendar day in Vietnam of a stored instant (a date; ISO text on SQLite).

        A fixed offset, not the zone's name: on PostgreSQL converting with a named zone costs
        a zone lookup per row, which doubled grouping 600,000 audit entries by day.
        """
        if self.pg:
            return func.date(func.timezone(literal(timedelta(hours=LOCAL_OFFSET_HOURS)), instant))
        return func.date(instant, f"+{LOCAL_OFFSET_HOURS} hours")

    def json_quote(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """The JSON text of one value (`null` for NULL), for objects built by concatenation.

        Streaming large listings (`overdue --json`) concatenates these with the keys: the parts
        every row of a deadline shares are rendered once per deadline, and PostgreSQL's
        `json_build_object` was several times slower over hundreds of thousands of rows.
        """
        if self.pg:
            return func.coalesce(cast(func.to_json(value), String), "null")
        return func.json_quote(value)

"""Render values in SQL, for listings too large to format row by row in Python.

`overdue --json` over the national tree returns hundreds of thousands of rows; building
each JSON object in the database (`json_object` in SQLite, `json_build_object` in
PostgreSQL) keeps the command within a small factor of the bare query. Local times use the
fixed offset of Asia/Ho_Chi_Minh (+07:00, no daylight saving since 1975).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, cast, func, literal
from sqlalchemy.sql import ColumnElement

LOCAL_OFFSET_HOURS = 7
LOCAL_SUFFIX = "+07:00"


def local_iso(instant: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """An instant as ISO 8601 local time with its offset: 2026-11-20T00:00:00+07:00."""
    if dialect == "postgresql":
        local = func.timezone("Asia/Ho_Chi_Minh", instant)
        text = func.to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS')  # once per milestone
    else:
        text = func.strftime("%Y-%m-%dT%H:%M:%S", instant, f"+{LOCAL_OFFSET_HOURS} hours")
    return text.concat(LOCAL_SUFFIX)


def whole_days_since(instant: ColumnElement[Any], as_of: datetime, dialect: str) -> ColumnElement[int]:
    """Whole days from `instant` to `as_of` (10 days and 8 hours: 10), for past instants."""
    if dialect == "postgresql":
        seconds = func.extract("epoch", literal(as_of, type_=instant.type) - instant)
        return cast(func.floor(seconds / 86400), Integer)
    def epoch(value: ColumnElement[Any]) -> ColumnElement[int]:
        return cast(func.strftime("%s", value), Integer)

    return (epoch(literal(as_of, type_=instant.type)) - epoch(instant)) // 86400


def json_row(pairs: dict[str, ColumnElement[Any]], dialect: str) -> ColumnElement[str]:
    """A JSON object built by the database from `{key: column}`, keys in the given order.

    PostgreSQL concatenates `to_json` of each value: several times faster than
    `json_build_object` over hundreds of thousands of rows.
    """
    if dialect != "postgresql":
        args: list[Any] = []
        for key, value in pairs.items():
            args.extend([literal(key), value])
        return func.json_object(*args)
    text: ColumnElement[str] = literal("{")
    for i, (key, value) in enumerate(pairs.items()):
        encoded = func.coalesce(cast(func.to_json(value), String), "null")
        text = text.concat(("," if i else "") + f'"{key}":').concat(encoded)
    return text.concat("}")

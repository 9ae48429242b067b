"""The SQL expressions that differ between PostgreSQL and SQLite, in one place.

Sweeps build notification rows inside the database (one `INSERT … SELECT`, no rows through
Python) and `overdue --json` streams rows the database rendered, so JSON objects, ISO
instants, local dates and whole days late must be SQL. SQLite stores instants as UTC text
and has no time zones: local times use the fixed offset of Asia/Ho_Chi_Minh (+07:00, no
daylight saving since 1975).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnExpressionArgument,
    Date,
    Integer,
    Select,
    String,
    case,
    cast,
    column,
    extract,
    func,
    literal,
    null,
    select,
    table,
    true,
    type_coerce,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

from config.zone import DEFAULT_TIMEZONE
from workflow.db import affected
from workflow.models import UTCDateTime

LOCAL_OFFSET_HOURS = 7
LOCAL_SUFFIX = "+07:00"
#: a staged insert of at least this many rows refreshes the table's planner statistics
ANALYZE_AFTER_ROWS = 10_000


def text(value: str) -> ColumnElement[Any]:
    """A string parameter with an explicit type (PostgreSQL cannot infer one inside JSON)."""
    return cast(literal(value), String)


def integer(value: int) -> ColumnElement[Any]:
    return cast(literal(value), Integer)


class CreateTempTableAs(Executable, ClauseElement):
    """`CREATE TEMPORARY TABLE name AS <query>`, with the query's bound parameters kept."""

    inherit_cache = False

    def __init__(self, name: str, query: Select[Any]) -> None:
        self.name, self.query = name, query


@compiles(CreateTempTableAs)
def _create_temp_table_as(element: CreateTempTableAs, compiler: Any, **kw: Any) -> str:
    return f"CREATE TEMPORARY TABLE {element.name} AS {compiler.process(element.query, **kw)}"


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
        # imported here: the PostgreSQL dialect is slow to import and a SQLite listing never needs it
        from sqlalchemy.dialects import postgresql, sqlite

        return (postgresql if self.pg else sqlite).insert(table)

    def insert_staged(self, session: Session, target: Any, columns: list[str], source: Select[Any],
                      conflict: list[str]) -> int:
        """Insert the rows of `source` into `target`, ignoring conflicts on `conflict`; return how many.

        The rows are computed first into a temporary table, then inserted from it. An
        `INSERT … SELECT` whose SELECT probes the very table it writes (has this been told
        already?) lets PostgreSQL plan that probe as a scan repeated per row, and each scan
        reads every page the statement has written so far (invisible to it, read all the
        same): quadratic in the rows written. Staged, the SELECT reads the table as it was,
        once, and the insert reads only the staged rows. `source` must name its columns
        `columns`. A failure leaves the temporary table to the transaction's rollback.
        """
        staged = "staged_rows"
        session.execute(CreateTempTableAs(staged, source))
        # WHERE true: SQLite would read the ON of ON CONFLICT as a join's
        rows: Select[*tuple[Any, ...]] = (
            select(*(column(name) for name in columns)).select_from(table(staged)).where(true()))
        statement = self.insert(target).from_select(columns, rows).on_conflict_do_nothing(
            index_elements=conflict)
        written = max(affected(session.execute(statement.execution_options(preserve_rowcount=True))), 0)
        session.execute(sql_text(f"DROP TABLE {staged}"))
        if self.pg and written >= ANALYZE_AFTER_ROWS:
            # statistics now, not when autovacuum gets to them: the next sweep's probes of a
            # table its statistics still call empty would be planned as nested loops
            session.execute(sql_text(f"ANALYZE {target.name}"))
        return written

    def instant(self, value: datetime) -> ColumnElement[Any]:
        """Bind an aware instant as the column type stores it."""
        return literal(value, UTCDateTime())

    def day(self, value: date) -> ColumnElement[Any]:
        """Bind a calendar day as a `Date` column stores it."""
        return literal(value, Date())

    def json_object(self, **pairs: Any) -> ColumnElement[Any]:
        """Build a JSON object with the database's own function (PostgreSQL: `jsonb`)."""
        args: list[Any] = []
        for key, value in pairs.items():
            args += [text(key), value]
        return func.jsonb_build_object(*args) if self.pg else func.json_object(*args)

    def json_lines(self, rows: Any, keys: Sequence[str], order_by: Sequence[Any]) -> Select[Any]:
        """One compact JSON object (text) per row of the subquery `rows`, its members the
        columns `keys` in that order, the rows in `order_by` order.

        PostgreSQL: `row_to_json` of a lateral row of just those columns (`json_build_object`
        would put spaces around every colon); SQLite: `json_object`.
        """
        if self.pg:
            members = select(*(rows.c[key] for key in keys)).correlate(rows).lateral("j")
            json = cast(func.row_to_json(members.table_valued()), String)
            return select(json.label("row")).select_from(rows).join(members, true()).order_by(*order_by)
        args: list[Any] = []
        for key in keys:
            args += [text(key), rows.c[key]]
        return select(func.json_object(*args).label("row")).order_by(*order_by)

    def json_merge(self, part: ColumnElement[Any], **pairs: Any) -> ColumnElement[Any]:
        """The JSON object in the text `part` (rendered in Python) with `pairs` added to it."""
        if self.pg:
            return cast(part, JSONB).op("||")(self.json_object(**pairs))
        return func.json_patch(part, self.json_object(**pairs))

    def json_payload(self, part: ColumnElement[Any], **pairs: Any) -> ColumnElement[Any]:
        """`json_merge` typed as the outbox's JSON payload column."""
        merged = self.json_merge(part, **pairs)
        return cast(merged, JSON) if self.pg else type_coerce(merged, JSON)

    def fenced(self, query: Select[Any]) -> Select[Any]:
        """Keep the database from inlining a subquery into the query around it.

        So a subquery of a few rows that computes values is computed once per row of its own,
        not once per row of the join. The fence is an offset that skips nothing. On
        PostgreSQL it is `OFFSET NULL`: the planner sees `OFFSET 0` as a cast to bigint, not
        a constant, takes it for a real offset and rules out parallel plans for the whole
        query (a `MATERIALIZED` CTE rules them out too).
        """
        return query.offset(null()) if self.pg else query.offset(0)

    def json_array_agg(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.jsonb_agg(value) if self.pg else func.json_group_array(func.json(value))

    def json_value(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """Keep a JSON value JSON when it comes through a subquery (SQLite loses the subtype)."""
        return value if self.pg else func.json(value)

    def whole_days_since(self, instant: ColumnElement[Any], now: datetime) -> ColumnElement[Any]:
        """Whole days from a stored instant to `now` (10 days 8 hours is 10)."""
        if self.pg:
            seconds = extract("epoch", self.instant(now) - instant)
            return cast(func.floor(seconds / 86400), Integer)

        def epoch(value: ColumnElement[Any]) -> ColumnElement[Any]:
            return cast(func.strftime("%s", value), Integer)

        return (epoch(self.instant(now)) - epoch(instant)) // 86400

    def local_iso(self, instant: ColumnElement[Any]) -> ColumnElement[Any]:
        """An instant as ISO 8601 local time with its offset: 2026-11-20T00:00:00+07:00."""
        if self.pg:
            local = func.timezone(DEFAULT_TIMEZONE, instant)
            rendered = func.to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS')
        else:
            rendered = func.strftime("%Y-%m-%dT%H:%M:%S", instant, f"+{LOCAL_OFFSET_HOURS} hours")
        return rendered.concat(LOCAL_SUFFIX)

    def local_plan_date(self, instant: ColumnElement[Any], by_rule: ColumnElement[bool]) -> ColumnElement[Any]:
        """The ISO day a plan names for a deadline instant: its local date, the day before for `by`
        (`workflow.notices.plan_day` in SQL)."""
        if self.pg:
            local = func.timezone(DEFAULT_TIMEZONE, instant)
            shifted = local - case((by_rule, literal(timedelta(days=1))), else_=literal(timedelta(0)))
            return func.to_char(shifted, "YYYY-MM-DD")
        return func.date(instant, f"+{LOCAL_OFFSET_HOURS} hours",
                         case((by_rule, literal("-1 days")), else_=literal("+0 days")))

    def local_day(self, instant: ColumnExpressionArgument[Any]) -> ColumnElement[Any]:
        """The calendar day in Vietnam of a stored instant (a date; ISO text on SQLite).

        A fixed offset, not the zone's name: on PostgreSQL converting with a named zone costs
        a zone lookup per row, which costs as much as the grouping of the audit entries by day itself.
        """
        if self.pg:
            return func.date(func.timezone(literal(timedelta(hours=LOCAL_OFFSET_HOURS)), instant))
        return func.date(instant, f"+{LOCAL_OFFSET_HOURS} hours")

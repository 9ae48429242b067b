"""The SQL expressions that differ between PostgreSQL and SQLite, in one place.

Sweeps build notification rows inside the database (one `INSERT … SELECT`, no rows through
Python) and `overdue --json` streams rows the database rendered, so JSON objects, ISO
instants, local dates and whole days late must be SQL. SQLite stores instants as UTC text
and has no time zones: local times use the fixed offset of Asia/Ho_Chi_Minh (+07:00, no
daylight saving since 1975).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnExpressionArgument,
    Date,
    Integer,
    Select,
    String,
    Table,
    case,
    cast,
    column,
    extract,
    func,
    literal,
    literal_column,
    null,
    select,
    table,
    text,
    true,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

from config.zone import DEFAULT_TIMEZONE
from workflow.db import Database, affected, driver_connection, normalise_url
from workflow.models import UTCDateTime

LOCAL_OFFSET_HOURS = 7
LOCAL_SUFFIX = "+07:00"
#: a staged insert of at least this many rows refreshes the table's planner statistics
ANALYZE_AFTER_ROWS = 10_000
#: … and at least this fraction of the rows the table's statistics know (autovacuum's default)
ANALYZE_GROWTH = 0.1
#: lines of a streamed listing (`Dialect.text_lines`) handed on at a time
LINES_PER_CHUNK = 5_000


def string(value: str) -> ColumnElement[Any]:
    """A string parameter with an explicit type (PostgreSQL cannot infer one inside JSON)."""
    return cast(literal(value), String)


def integer(value: int) -> ColumnElement[Any]:
    return cast(literal(value), Integer)


def _remembered(process: Any) -> Any:
    """A column's conversion remembered per value (instants repeat: one per reported day)."""
    if process is None:
        return None
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = out = process(value)
            return out
        except TypeError:  # unhashable
            return process(value)

    return convert


class CreateTempTableAs(Executable, ClauseElement):
    """`CREATE TEMPORARY TABLE name AS <query>`, with the query's bound parameters kept."""

    inherit_cache = False

    def __init__(self, name: str, query: Select[Any]) -> None:
        self.name, self.query = name, query


@compiles(CreateTempTableAs)
def _create_temp_table_as(element: CreateTempTableAs, compiler: Any, **kw: Any) -> str:
    return f"CREATE TEMPORARY TABLE {element.name} AS {compiler.process(element.query, **kw)}"


class Dialect:
    """Everything that differs between the backends (`postgresql` or `sqlite`), as named methods.

    Domain modules ask `Dialect.of(...)` and call a method; they never compare backend
    names nor send a PostgreSQL-only statement themselves, so a difference is found, and
    changed, here alone. A statement one backend has no use for is a no-op on the other.
    """

    def __init__(self, name: str) -> None:
        if name not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported dialect {name}")
        self.name = name

    @classmethod
    def of(cls, bind: Session | Connection | Engine | Database) -> Dialect:
        """The dialect of the database behind a session, connection, engine or `Database`."""
        if isinstance(bind, Session):
            name = bind.get_bind().dialect.name
        elif isinstance(bind, Database):
            name = bind.engine.dialect.name
        else:
            name = bind.dialect.name
        return _DIALECTS[name]

    @classmethod
    def of_url(cls, url: str) -> Dialect:
        """The dialect of the database `url` names, before any engine connects to it."""
        return _DIALECTS[make_url(normalise_url(url)).get_backend_name()]

    @property
    def pg(self) -> bool:
        return self.name == "postgresql"

    @property
    def alters_by_copying(self) -> bool:
        """Say whether altering a table means copying it into a new one (SQLite, whose ALTER
        TABLE cannot drop a constraint: Alembic's batch mode); PostgreSQL alters in place."""
        return not self.pg

    def set_work_mem(self, executor: Session | Connection, size: str) -> None:
        """Give this transaction's sorts and hash joins `size` of memory each (PostgreSQL's
        `work_mem`); SQLite has no such limit."""
        if self.pg:
            executor.execute(text(f"SET LOCAL work_mem = '{size}'"))

    def no_jit(self, executor: Session | Connection) -> None:
        """Turn PostgreSQL's JIT compilation off for this transaction (SQLite has none)."""
        if self.pg:
            executor.execute(text("SET LOCAL jit = off"))

    @contextmanager
    def hash_joins(self, session: Session) -> Iterator[None]:
        """Within the block, PostgreSQL joins by hashing or merging, never by nested loops.

        For a statement over rows this transaction just wrote, whose filters the planner
        cannot estimate (ids past a mark, an instant): it takes them for one row and loops
        over an index per row of what are really hundreds of thousands. Only this
        transaction is affected, and only until the block ends (an error rolls it back).
        """
        if not self.pg:
            yield
            return
        session.execute(text("SET LOCAL enable_nestloop = off"))
        yield
        session.execute(text("SET LOCAL enable_nestloop = on"))

    def analyze(self, session: Session, *tables: str) -> None:
        """Refresh the planner statistics of `tables` now (SQLite's planner keeps none we rely on)."""
        if self.pg:
            session.execute(text(f"ANALYZE {', '.join(tables)}"))

    def lock_table(self, session: Session, table: str, mode: str) -> None:
        """Lock `table` in PostgreSQL's lock `mode` until the transaction ends. SQLite's write
        transaction already excludes every other writer."""
        if self.pg:
            session.execute(text(f"LOCK TABLE {table} IN {mode} MODE"))

    def reset_sequence(self, session: Session, table: str, column: str = "id") -> None:
        """Move the sequence behind `table.column` to its largest value, after rows were written
        with their ids given (PostgreSQL's sequences do not see those; SQLite's rowid does)."""
        if self.pg:
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                 f"(SELECT max({column}) FROM {table}))"))

    def insert_rows(self, session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert many rows of `table`, every row with the same keys, in the transaction of `session`.

        The rows go to the driver without SQLAlchemy's per-row work, which a national import
        would repeat per row: on PostgreSQL by `COPY … FROM STDIN`, one stream instead of round
        trips (the ORM's bulk insert splits its batches wherever a row's NULLs differ, which
        made most rows a round trip of their own); on SQLite by one executemany of its
        in-process driver. Each column's own conversion applies, as an INSERT applies it
        (`UTCDateTime` refuses a naive instant), once per distinct value; a JSON column's
        values are given as JSON text.
        """
        if not rows:
            return
        connection = session.connection()
        columns = list(rows[0])
        convert = [(c, None if isinstance(table.c[c].type, JSON)
                    else _remembered(table.c[c].type.bind_processor(connection.dialect))) for c in columns]
        values = ([row[c] if f is None else f(row[c]) for c, f in convert] for row in rows)
        names = ", ".join(f'"{c}"' for c in columns)
        if not self.pg:
            driver_connection(connection).executemany(
                f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" for _ in columns)})', values)
            return
        with driver_connection(connection).cursor() as cursor, \
                cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in values:
                copy.write_row(row)

    def try_advisory_lock(self, connection: Connection, key: int) -> bool:
        """Take the session-level advisory lock `key` on `connection` if no other session holds
        it; say whether it was granted. PostgreSQL alone has these locks: leadership on SQLite
        is a file lock (`schedules/leader.py`)."""
        self._require_pg("advisory locks")
        return bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())

    def holds_advisory_lock(self, connection: Connection, key: int) -> bool:
        """Say whether the session of `connection` still holds the advisory lock `key`."""
        self._require_pg("advisory locks")
        held = connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :k"),
            {"k": key}).scalar()
        return bool(held)

    def release_advisory_lock(self, connection: Connection, key: int) -> None:
        self._require_pg("advisory locks")
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    def _require_pg(self, what: str) -> None:
        if not self.pg:
            raise ValueError(f"{self.name} has no {what}")

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """Lock the rows `query` selects, skipping those another transaction holds (PostgreSQL).

        SQLite's write transaction (BEGIN IMMEDIATE) already excludes every other writer, so
        the rows selected are still there when they are updated.
        """
        return query.with_for_update(skip_locked=True) if self.pg else query

    def position(self, haystack: ColumnElement[Any], needle: str) -> ColumnElement[Any]:
        """Where `needle` first occurs in `haystack`, counted from 1 (0 when it does not)."""
        return (func.strpos if self.pg else func.instr)(haystack, needle, type_=Integer)

    def insert(self, table: Any) -> Any:
        """Return the dialect's INSERT, which has `on_conflict_do_nothing`."""
        # imported here: the PostgreSQL dialect is slow to import and a SQLite listing never needs it
        if self.pg:
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

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
        session.execute(text(f"DROP TABLE {staged}"))
        if self.pg and written >= ANALYZE_AFTER_ROWS and written >= ANALYZE_GROWTH * self._rows_known(
                session, target.name):
            # statistics now, not when autovacuum gets to them: the next sweep's probes of a
            # table its statistics still call empty would be planned as nested loops. A table
            # whose statistics already count it large is left to autovacuum: its plans no
            # longer change, and analysing it after every day's sweep would only add the work
            self.analyze(session, target.name)
        return written

    @staticmethod
    def _rows_known(session: Session, name: str) -> float:
        """How many rows PostgreSQL's statistics say the table has (0 before its first ANALYZE)."""
        known = session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
                               {"name": name})
        return max(float(known or 0), 0.0)

    def instant(self, value: datetime) -> ColumnElement[Any]:
        """Bind an aware instant as the column type stores it."""
        return literal(value, UTCDateTime())

    def day(self, value: date) -> ColumnElement[Any]:
        """Bind a calendar day as a `Date` column stores it."""
        return literal(value, Date())

    def json_object(self, **members: Any) -> ColumnElement[Any]:
        """A JSON object of `members`, keys in the order given, built by the database.

        A Python value is bound as a typed constant (None as `null`); a column or expression
        is converted per row by the database. PostgreSQL's `json_build_object` (`json`, not
        `jsonb`: a member that is already JSON is copied as it is, never parsed); SQLite's
        `json_object`, which keeps a member straight from another JSON function as JSON.
        """
        arguments: list[ColumnElement[Any]] = []
        for key, value in members.items():
            arguments += [literal_column(f"'{key}'", String), self._json_value(value)]
        return (func.json_build_object if self.pg else func.json_object)(*arguments, type_=JSON)

    @staticmethod
    def _json_value(value: Any) -> ColumnElement[Any]:
        if value is None:
            return null()
        if isinstance(value, str):
            return string(value)
        if isinstance(value, int):
            return integer(value)
        return value

    def json_array_agg(self, value: ColumnElement[Any], order_by: Sequence[Any]) -> Any:
        """The aggregate that gathers JSON values into a JSON array in `order_by` order.

        SQLite (before 3.44) has no ORDER BY inside an aggregate: `json_group_array` takes the
        rows in the order they arrive, so the caller reads them from a sorted subquery.
        """
        if self.pg:
            from sqlalchemy.dialects.postgresql import aggregate_order_by

            return func.json_agg(aggregate_order_by(value, *order_by), type_=JSON)
        return func.json_group_array(value, type_=JSON)

    def json_kept(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """JSON that a subquery built, to nest in an object around it (`json_object`).

        SQLite forgets that a text is JSON once it leaves the function that made it (its
        subtype), and would nest it as a string: `json()` marks it again. PostgreSQL's
        `json` type stays.
        """
        return value if self.pg else func.json(value, type_=JSON)

    def bytewise(self, value: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[Any]:
        """Text to compare byte by byte: SQLite's default, PostgreSQL's `C` collation."""
        return value.expression.collate("C") if self.pg else value.expression

    def text_lines(self, connection: Connection, statement: Select[Any]) -> Iterator[bytes]:
        """The rows of a one-column text `statement`, as UTF-8 lines in chunks of whole lines.

        For listings the database renders and the CLI only passes through (`overdue --json`):
        no row becomes a Python object. PostgreSQL streams them with `COPY (…) TO STDOUT`,
        so the client writes while the server still sends instead of receiving the whole
        result first; CSV with the control characters 0x01 and 0x02 as quote and
        delimiter writes each value as it is (JSON text escapes every control character).
        SQLite's driver hands the text over as bytes, never decoded only to be encoded again.
        """
        raw = driver_connection(connection)
        if self.pg:
            yield from _copy_lines(raw, connection, statement)
            return
        before = raw.text_factory
        raw.text_factory = bytes
        try:
            result = connection.execute(statement)
            try:
                while chunk := result.cursor.fetchmany(LINES_PER_CHUNK):
                    yield b"".join(row[0] + b"\n" for row in chunk)
            finally:
                result.close()
        finally:
            raw.text_factory = before

    def fenced(self, query: Select[Any]) -> Select[Any]:
        """Keep the database from inlining a subquery into the query around it.

        So a subquery of a few rows that computes values is computed once per row of its own,
        not once per row of the join. The fence is an offset that skips nothing. On
        PostgreSQL it is `OFFSET NULL`: the planner sees `OFFSET 0` as a cast to bigint, not
        a constant, takes it for a real offset and rules out parallel plans for the whole
        query (a `MATERIALIZED` CTE rules them out too).
        """
        return query.offset(null()) if self.pg else query.offset(0)

    def whole_days_since(self, instant: ColumnElement[Any], now: datetime) -> ColumnElement[Any]:
        """Whole days from a stored instant to `now` (10 days 8 hours is 10)."""
        if self.pg:
            seconds = extract("epoch", self.instant(now) - instant)
            return cast(func.floor(seconds / 86400), Integer)

        def epoch(value: ColumnElement[Any]) -> ColumnElement[Any]:
            return cast(func.strftime("%s", value), Integer)

        return (epoch(self.instant(now)) - epoch(instant)) // 86400

    def days_later(self, instant: ColumnElement[Any], days: int) -> ColumnElement[Any]:
        """A stored instant `days` whole days later, to compare with stored instants.

        On SQLite it is text in whole seconds (a deadline's precision): it sorts before the
        same second stored with its fraction, so `>` against a stored instant stays exact.
        """
        if self.pg:
            return instant + literal(timedelta(days=days))
        return func.datetime(instant, f"+{days} days")

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


_DIALECTS = {name: Dialect(name) for name in ("postgresql", "sqlite")}


def _copy_lines(raw: Any, connection: Connection, statement: Select[Any]) -> Iterator[bytes]:
    from psycopg import ClientCursor

    compiled = statement.compile(dialect=connection.dialect)
    query = ClientCursor(raw).mogrify(str(compiled), compiled.params)
    lines: list[bytes] = []
    with raw.cursor() as cursor, cursor.copy(
            f"COPY ({query}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')") as copy:
        for line in copy:
            lines.append(bytes(line))
            if len(lines) == LINES_PER_CHUNK:
                yield b"".join(lines)
                lines.clear()
    if lines:
        yield b"".join(lines)

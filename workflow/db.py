"""Engines and transactions for SQLite (embedded default) and PostgreSQL (psycopg 3).

SQLite runs in WAL mode with foreign keys on; a writing transaction starts with
`BEGIN IMMEDIATE` so two writers queue instead of one failing half-way with "database is
locked" when it upgrades a read lock. Writers of this code first take an exclusive `flock`
on a lock file beside the database (`<file>.writer-lock`): SQLite's busy handler polls with
growing sleeps, so a waiter may sleep on long after the writer before it is done, while a
waiter on the lock file wakes the moment it is. The busy timeout still
guards against any other writer (the sqlite3 shell, an older process). Nothing connects at
import time.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from workflow.errors import BadInput, Refused

SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalise_url(url: str) -> str:
    """Accept `postgresql://…` and `postgres://…` and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for `url` with this project's settings for its backend."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError as exc:
        raise BadInput("db.url_unreadable", url=url) from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        try:
            return create_engine(parsed, **kwargs)
        except (ImportError, NoSuchModuleError) as exc:
            raise BadInput("db.driver_missing", driver=parsed.drivername) from exc
    raise BadInput("db.unsupported", backend=parsed.get_backend_name())


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("kiemdiem_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def driver_connection(connection: Connection) -> Any:
    """The driver's own connection (sqlite3 or psycopg) under `connection`, for what only it does.

    Typed optional by SQLAlchemy because a closed connection has none; ours are open here.
    """
    raw = connection.connection.driver_connection
    assert raw is not None, "the connection was closed"
    return raw


def affected(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE touched.

    `Session.execute` is typed to return a plain `Result`; for a DML statement it is a
    `CursorResult`, which alone carries `rowcount`.
    """
    return cast(CursorResult[Any], result).rowcount


class Database:
    """The one handle to the store; hands out sessions bound to one transaction each."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(url, **engine_kwargs)
        self.writer_lock = _writer_lock_path(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """Yield a session in one transaction: committed on success, rolled back on error.

        A lock the database could not grant in time becomes a clean `Refused`, never a
        traceback: the user is told to try again.
        """
        queued = _writing(self.writer_lock) if write and self.writer_lock else nullcontext()
        with queued, self.engine.connect() as conn:
            if write:
                conn = conn.execution_options(kiemdiem_write=True)
            try:
                with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.flush()
            except OperationalError as exc:
                if _is_lock_error(exc):
                    raise Refused("db.busy") from exc
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def _writer_lock_path(engine: Engine) -> str | None:
    """The lock file the writers of a SQLite database file queue on; None for PostgreSQL
    (its row locks queue writers without polling) and for a database in memory."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}.writer-lock"


@contextmanager
def _writing(path: str) -> Iterator[None]:
    """Hold the exclusive lock on `path` for the block, or raise `Refused` after the busy
    timeout, like SQLite's own wait. Each holder opens the file itself: `flock` locks belong
    to an open file, so threads of one process queue like processes do. Read access is all a
    `flock` needs, so a file another account created (readable to all, like the database's
    own WAL files) serves every writer; a file that cannot be opened at all leaves the writer
    to SQLite's own wait."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    owned = True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owned = _flock_within(fd, SQLITE_BUSY_TIMEOUT_MS / 1000)
            if not owned:  # the waiting thread closes `fd` when the lock comes
                raise Refused("db.busy") from None
        yield
    finally:
        if owned:
            os.close(fd)  # closing the file releases the lock


def _flock_within(fd: int, timeout: float) -> bool:
    """Wait up to `timeout` s for the lock on `fd`; False when it was not granted in time,
    and `fd` then belongs to the waiting thread.

    The blocking `flock` sleeps in the kernel, without the GIL, and wakes the moment the lock
    is free; it runs in a thread of its own so that a writer that never finishes cannot hold
    this one past the timeout. When this one gives up first, that thread closes `fd` as soon
    as the lock comes (which releases it again).
    """
    settled = threading.Lock()
    answered = threading.Event()
    failure: list[OSError] = []
    abandoned = False

    def wait() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            failure.append(exc)
        with settled:
            if not abandoned:
                answered.set()
                return
        os.close(fd)

    threading.Thread(target=wait, name="kiemdiem-writer-lock", daemon=True).start()
    if not answered.wait(timeout):
        with settled:
            abandoned = not answered.is_set()
        if abandoned:
            return False
    if failure:
        raise failure[0]
    return True


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "lock timeout" in text or "deadlock" in text

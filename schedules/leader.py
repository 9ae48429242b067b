"""Exactly one scheduler among many `serve` processes.

On PostgreSQL the leader holds a session-level advisory lock on a dedicated connection: if
the process dies, PostgreSQL closes the session and releases the lock, and a waiting process
that retries every few seconds takes over. Nothing home-made coordinates them.

SQLite has no such lock and is meant for one machine: an exclusive `flock` on a file next to
the database makes a second `serve` refuse to run a scheduler, with a message that says why.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from workflow.db import normalise_url
from workflow.errors import Refused
from workflow.sqlrender import Dialect

#: the advisory lock key: "kiemdiem" read as an integer, stable across versions
LOCK_KEY = int.from_bytes(b"kiemdiem", "big") & 0x7FFF_FFFF_FFFF_FFFF


class Leader(Protocol):
    def acquire(self, stop: threading.Event) -> bool:
        """Block until this process leads (True) or `stop` is set (False)."""

    def holds(self) -> bool:
        """Say whether this process still leads (its lock is still there)."""

    def release(self) -> None: ...


class PostgresLeader:
    """Leadership as `pg_try_advisory_lock` on a connection of its own, retried until granted."""

    def __init__(self, url: str, retry_seconds: float = 5.0, key: int = LOCK_KEY) -> None:
        # keepalives: a peer that vanished without closing its socket is noticed in ~30 s
        self.engine = create_engine(normalise_url(url), poolclass=NullPool, connect_args={
            "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
            "keepalives_count": 3, "application_name": "kiemdiem-scheduler"})
        self.retry_seconds, self.key = retry_seconds, key
        self.dialect = Dialect.of(self.engine)
        self._conn: Connection | None = None

    def acquire(self, stop: threading.Event) -> bool:
        while not stop.is_set():
            if self._try():
                return True
            stop.wait(self.retry_seconds)
        return False

    def _try(self) -> bool:
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError:
            return False  # the database is down: try again later
        try:
            granted = self.dialect.try_advisory_lock(conn, self.key)
        except DBAPIError:
            conn.close()
            return False
        if granted:
            self._conn = conn
            return True
        conn.close()
        return False

    def holds(self) -> bool:
        if self._conn is None:
            return False
        try:
            return self.dialect.holds_advisory_lock(self._conn, self.key)
        except DBAPIError:
            self._close()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self.dialect.release_advisory_lock(self._conn, self.key)
            except DBAPIError:
                pass  # the session is gone, and the lock with it
            self._close()
        self.engine.dispose()

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except DBAPIError:
                pass
            self._conn = None


class SqliteLeader:
    """Leadership as an exclusive lock on `<database>.scheduler.lock`; a second one refuses."""

    def __init__(self, database: str | None) -> None:
        self.path = Path(f"{database}.scheduler.lock") if database else None
        self._file: IO[str] | None = None

    def acquire(self, stop: threading.Event) -> bool:
        if self.path is None:  # an in-memory database belongs to this process alone
            return True
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise Refused("scheduler.sqlite_taken", path=self.path) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def holds(self) -> bool:
        return self.path is None or self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def leader_for(url: str, retry_seconds: float = 5.0) -> Leader:
    """Return the leadership that fits the database behind `url`."""
    if Dialect.of_url(url).pg:
        return PostgresLeader(url, retry_seconds)
    database = make_url(normalise_url(url)).database
    return SqliteLeader(database if database and database != ":memory:" else None)

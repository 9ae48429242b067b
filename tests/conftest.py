"""Fixtures shared by every test: the database, parametrised over SQLite and PostgreSQL.

`db` gives each test a fresh, migrated database on both backends. PostgreSQL is never
skipped: if it cannot be reached the tests that need it fail, naming the server.
Each test session works in a database of its own (`kiemdiem_test_<pid>_<n>`), so parallel
workers and several checkouts on one machine never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from kiemdiem import jsonlog
from tests.helpers import own_process_logging
from workflow.db import Database
from workflow.schema import upgrade

PG_ADMIN_URL = os.environ.get(
    "KIEMDIEM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_counter = itertools.count()


def _pg_admin():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The admin URL of the PostgreSQL the tests use; fails (never skips) when it is down."""
    engine = _pg_admin()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the same failure
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required for the tests and unreachable: {exc}")
    finally:
        engine.dispose()
    yield PG_ADMIN_URL


def new_pg_database(admin_url: str) -> str:
    """Create an empty PostgreSQL database for one test and return its URL."""
    name = f"kiemdiem_test_{os.getpid()}_{next(_counter)}"
    engine = _pg_admin()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = _pg_admin()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, for tests that need PostgreSQL alone (several
    processes sharing the scheduler lock or the outbox)."""
    url = new_pg_database(pg_server)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL on each backend (not yet migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kiemdiem.db'}"
        return
    admin = request.getfixturevalue("pg_server")
    url = new_pg_database(admin)
    try:
        yield url
    finally:
        drop_pg_database(url)


@contextmanager
def migrated(url: str) -> Iterator[Database]:
    """The database at `url`, migrated, disposed of afterwards."""
    database = Database(url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    with migrated(db_url) as database:
        yield database


@pytest.fixture
def json_log() -> Iterator[None]:
    """The process's log set up as `serve` sets it (JSON lines on stdout; read them with capsys)."""
    with own_process_logging():
        jsonlog.configure()
        yield

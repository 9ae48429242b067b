"""`serve` killed with SIGKILL in the middle of its work, then started again.

During a sweep: the sweep is one transaction, so the killed one left all of its rows or none,
and the restarted `serve` writes exactly what was owed — compared key by key with a dry run
of the same sweep. During delivery: every owed message reaches the SMTP server; the only
repeats are messages that were in flight, and a repeat carries the same Message-ID.
"""

from __future__ import annotations

import signal
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from benchmarks.generate import generate
from config.hierarchy import load_hierarchy
from config.settings import Settings
from notifiers.base import idempotency_key
from notifiers.mime import sender_domain
from tests import notify_fixtures
from tests.faults.ledger import account, outbox_keys, outbox_statuses, swept_keys
from tests.notify_helpers import add_rows
from tests.processes import MAIL_FROM, Serve, frozen_when, smtp_env, wait_until
from workflow.campaigns import create_campaign
from workflow.clock import system_clock
from workflow.db import Database
from workflow.units import import_units

pytestmark = pytest.mark.faults
smtp = notify_fixtures.smtp  # the loopback SMTP server fixture

UNITS = 3_000
#: a week after the cells' forms were due: reminders, repeats and escalations for most units
SWEEP_AT = datetime.fromisoformat("2026-11-25T08:00:00+07:00")
PUBLIC_URL = "http://kiemdiem.example.vn"
#: the digest (due from 07:30) after the day's last minute: only the sweep's rows are compared
SWEEP_ENV = {"KIEMDIEM_CHANNELS": "file", "KIEMDIEM_PUBLIC_URL": PUBLIC_URL, "KIEMDIEM_DIGEST_TIME": "23:59"}
MESSAGES = 600
#: the most a delivery step may take before the test fails: a bound, not an expectation (a
#: quiet machine needs seconds; a shared 2-core one at load 30 several times that)
BOUND_S = 300.0


def _country(db: Database, folder: Path) -> None:
    """A generated tree of `UNITS` units with the 2026 campaign (in-process: serve is tested)."""
    generate(folder, units=UNITS, seed=11)
    hierarchy = load_hierarchy("2025")
    import_units(db, folder / "units.csv", hierarchy, system_clock, "test")
    create_campaign(db, 2026, folder / "plan.yaml", hierarchy, system_clock, "test")


def _sweep_in_progress(db: Database) -> bool:
    """Whether another session holds an open writing transaction: the sweep, mid-way.

    PostgreSQL: a session of this database with a transaction id (it has inserted rows not
    yet committed). SQLite: the write lock is taken (only the sweep writes: no dispatcher).
    """
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL")).scalar())
    probe = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _other_sessions(db: Database) -> int:
    """PostgreSQL sessions of this database besides ours (a killed client's linger a moment)."""
    if db.dialect != "postgresql":
        return 0
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid()")).scalar()


def test_serve_killed_during_a_sweep_leaves_all_or_nothing_and_the_restart_writes_the_rest(
        db: Database, tmp_path: Path) -> None:
    _country(db, tmp_path / "country")
    owed = swept_keys(db, SWEEP_AT, ("file",), PUBLIC_URL)  # a dry run: rolled back
    # one bundle per unit and day (its ledger holds a notice per stage): a few thousand rows
    assert len(owed) > 2_000, "too few notifications for the sweep to take noticeable time"
    args = ["--no-web", "--no-dispatch"]
    with Serve(db.url, now=SWEEP_AT, catch_up_seconds=3600, args=args, env=SWEEP_ENV) as first:
        first.wait_for("leader")
        wait_until(lambda: _sweep_in_progress(db), 60, "the sweep to start writing")
        first.kill()
    finished = first.logged("sweep")
    wait_until(lambda: _other_sessions(db) == 0, 30, "PostgreSQL to drop the killed sessions")
    left = account(owed, outbox_keys(db))
    print(f"{db.dialect}: killed during the sweep; it left {left.arrived} of {left.owed} owed rows")
    assert not finished, "the sweep finished before the kill: the test proves nothing"
    assert not left.duplicated and not left.unexpected
    assert left.arrived in (0, left.owed), "a killed sweep left part of its rows"
    with Serve(db.url, now=SWEEP_AT, catch_up_seconds=3600, args=args, env=SWEEP_ENV) as second:
        swept = second.wait_for("sweep", 120)
        second.proc.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    after = account(owed, outbox_keys(db))
    print(f"{db.dialect}: after the restart the sweep wrote {swept['written']}; outbox: {after}")
    assert after.clean, str(after)
    assert swept["written"] == len(owed) - left.arrived


def _message_ids(keys: list[str]) -> list[str]:
    domain = sender_domain(MAIL_FROM)
    return [f"<{idempotency_key(key)}@{domain}>" for key in keys]


def test_serve_killed_during_delivery_loses_nothing_and_repeats_only_what_was_in_flight(
        db: Database, smtp: notify_fixtures.SmtpServer) -> None:
    add_rows(db, MESSAGES, at=datetime.now(UTC) - timedelta(hours=1))  # days old, they would be given up
    owed = _message_ids(outbox_keys(db))
    env = smtp_env(smtp.port)
    with Serve(db.url, args=["--no-web"], env=env) as first:
        # some messages sent, a batch claimed and not yet recorded
        frozen_when(first.proc, lambda: smtp.recorder.count() >= MESSAGES // 3
                    and outbox_statuses(db).get("sending", 0) > 0, BOUND_S, "serve to be mid-delivery")
        first.kill()
    in_flight = outbox_statuses(db).get("sending", 0)
    before = Counter(smtp.recorder.message_ids())
    assert 0 < in_flight <= Settings().dispatch_concurrency and max(before.values()) == 1  # senders
    # restarted once the dead process's leases have run out (`--now` past them)
    later = datetime.now(UTC) + timedelta(minutes=2)
    with Serve(db.url, now=later, args=["--no-web"], env=env) as second:
        wait_until(lambda: outbox_statuses(db) == {"sent": MESSAGES}, BOUND_S, "every row to be sent")
        second.proc.send_signal(signal.SIGTERM)
        assert second.wait(BOUND_S) == 0
    delivered = account(owed, smtp.recorder.message_ids())
    print(f"{db.dialect}: killed with {in_flight} in flight; delivered: {delivered}")
    assert not delivered.lost and not delivered.unexpected, str(delivered)
    assert sum(delivered.duplicated.values()) <= in_flight, str(delivered)
    assert set(delivered.duplicated) <= set(before), "a repeat that was not in flight"
    assert all(n == 1 for n in delivered.duplicated.values()), "a message sent three times"

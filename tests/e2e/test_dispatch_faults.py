"""Fault tests with real processes: a dispatcher killed mid-run, two dispatchers at once.

The dispatchers are `kiemdiem dispatch` processes delivering to an aiosmtpd server in this
test process; the SMTP server's record of Message-IDs is the ground truth.
"""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from tests import notify_fixtures
from tests.conftest import migrated
from tests.faults.ledger import outbox_statuses
from tests.notify_helpers import add_rows
from tests.processes import frozen_when, kiemdiem, smtp_env
from workflow.db import Database

smtp = notify_fixtures.smtp  # the loopback SMTP server fixture
#: due an hour ago, whatever today is (days before, they would be given up)
DUE = datetime.now(UTC) - timedelta(hours=1)
pytestmark = pytest.mark.slow
#: the most a step may take before the test fails: bounds, not expectations (a quiet machine
#: needs seconds; a shared 2-core one at load 30 several times that)
BOUND_S = 300.0


def dispatcher(url: str, port: int, *args: str, now: datetime | None = None) -> subprocess.Popen:
    return kiemdiem(url, "dispatch", *args, now=now, env=smtp_env(port))


def finished(proc: subprocess.Popen) -> None:
    """Wait for `dispatch --once` to end, reading its pipes meanwhile (a full pipe would block
    it), and require a clean exit."""
    _, err = proc.communicate(timeout=BOUND_S)
    assert proc.returncode == 0, err.decode()


def test_killed_dispatcher_loses_nothing_and_repeats_only_what_was_in_flight(db, smtp):
    add_rows(db, 2000, at=DUE)
    proc = dispatcher(db.url, smtp.port)
    try:
        # kill it mid-batch: some messages sent, some claimed and not yet recorded
        frozen_when(proc, lambda: smtp.recorder.count() >= 600 and outbox_statuses(db).get("sending", 0) > 0,
                    BOUND_S, "the dispatcher to be mid-delivery")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    in_flight = outbox_statuses(db).get("sending", 0)
    before = Counter(smtp.recorder.message_ids())
    assert 0 < in_flight <= Settings().dispatch_concurrency and max(before.values()) == 1  # senders
    # restarted after its leases ran out (`--now` past them): delivers the rest and stops
    rerun = dispatcher(db.url, smtp.port, "--once", now=datetime.now(UTC) + timedelta(minutes=2))
    finished(rerun)
    assert outbox_statuses(db) == {"sent": 2000}
    after = Counter(smtp.recorder.message_ids())
    assert len(after) == 2000  # nothing lost
    duplicates = {mid: n for mid, n in after.items() if n > 1}
    assert sum(n - 1 for n in duplicates.values()) <= in_flight
    assert all(n == 2 and mid in before for mid, n in duplicates.items())


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    with migrated(pg_url) as database:
        yield database


def test_two_dispatcher_processes_on_postgresql_never_send_a_row_twice(pg, smtp):
    add_rows(pg, 5000, at=DUE)
    procs = [dispatcher(pg.url, smtp.port, "--once") for _ in range(2)]
    for proc in procs:
        finished(proc)
    assert outbox_statuses(pg) == {"sent": 5000}
    received = Counter(smtp.recorder.message_ids())
    assert len(received) == 5000 and max(received.values()) == 1

"""PostgreSQL restarted under a running `serve`: it says so, reconnects, and goes on.

The cluster is a private one (tests/faults/private_pg.py), stopped with `pg_ctl -m fast`
(every session terminated) and started again on the same port. While it is down the
dispatcher's polls fail and `serve` logs `database_unreachable` once; once it is back the
same process logs `database_reconnected`, takes the scheduler lock again, sweeps (writing
nothing twice) and delivers the rows added after the restart.
"""

from __future__ import annotations

import signal
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from notifiers.base import idempotency_key
from tests.faults.ledger import account, outbox_keys, outbox_statuses
from tests.faults.private_pg import PrivateCluster, private_pg  # noqa: F401 - the fixture
from tests.helpers import seeded
from tests.notify_helpers import add_rows
from tests.processes import Serve, wait_until
from workflow.db import Database

pytestmark = pytest.mark.faults

NOW = datetime.fromisoformat("2026-11-13T08:00:00+07:00")  # reminders owed for the cells' forms
#: the rows added after the restart: due an hour before `NOW` (long before, they would be given up)
DUE = NOW - timedelta(hours=1)


def _files(outbox: Path) -> list[str]:
    """The messages in the file outbox, by idempotency key (a file per message)."""
    return [p.stem for p in outbox.iterdir() if not p.name.startswith(".")] if outbox.exists() else []


def test_serve_reconnects_after_postgresql_restarts(private_pg: PrivateCluster, tmp_path: Path) -> None:  # noqa: F811
    url = private_pg.create_database("kiemdiem")
    seeded(url)
    db = Database(url)
    outbox = tmp_path / "outbox"
    # the digest (due from 07:30) after the day's last minute: only the sweep's rows are counted
    env = {"KIEMDIEM_CHANNELS": "file", "KIEMDIEM_DISPATCH_IDLE_SECONDS": "0.2", "KIEMDIEM_DIGEST_TIME": "23:59"}
    with Serve(url, outbox, now=NOW, catch_up_seconds=0.5, args=["--no-web"], env=env) as serve:
        serve.wait_for("leader")
        written = serve.wait_for("sweep")["written"]
        assert written > 0
        wait_until(lambda: outbox_statuses(db) == {"sent": written}, 60, "the first deliveries")
        db.dispose()

        private_pg.stop()
        down = serve.wait_for("database_unreachable", 30)
        private_pg.start()

        back = serve.wait_for("database_reconnected", 30)
        # the lock's session died with the server: it is taken again, before or after the
        # sweeps and the dispatcher log their reconnection (the order is not fixed)
        wait_until(lambda: len(serve.logged("leader")) == 2, 30, "the scheduler lock taken again")
        assert serve.wait_for("sweep", 30)["written"] == 0  # nothing owed twice
        add_rows(db, 20, channel="file", at=DUE, recipient="GL-CQD")
        wait_until(lambda: outbox_statuses(db) == {"sent": written + 20}, 60,
                   "delivery of the rows added after the restart")
        delivered = account([idempotency_key(k) for k in outbox_keys(db)], _files(outbox))
        print(f"PostgreSQL restarted under serve: unreachable during {down['during']}, back after "
              f"{back['after_s']} s; {delivered}")
        assert delivered.clean, str(delivered)
        assert serve.alive(), serve.stderr
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.wait(30) == 0
    db.dispose()

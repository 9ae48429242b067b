"""Two `serve` processes on one PostgreSQL through a simulated season.

At each instant of the season both processes are started with that fixed clock (`--now`):
one takes the scheduler lock and sweeps, the other waits for it; both run dispatchers
delivering to one SMTP server. Both are stopped before the next instant. The outbox must
hold, after every instant, exactly what one sweep after another writes on a database of
its own (the reference, swept in-process), and every message must reach the SMTP server
once: none lost, none twice.
"""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import pytest

from notifiers.base import idempotency_key
from notifiers.mime import sender_domain
from tests import notify_fixtures
from tests.faults.ledger import account, outbox_keys, outbox_statuses, swept_keys
from tests.helpers import seeded
from tests.processes import MAIL_FROM, Serve, smtp_env, wait_until
from workflow.db import Database

pytestmark = pytest.mark.faults
smtp = notify_fixtures.smtp  # the loopback SMTP server fixture

PUBLIC_URL = "http://kiemdiem.example.vn"
#: 08:00 local (after quiet hours, so everything swept is due at once) on the season's turns
SEASON = [datetime.fromisoformat(f"{day}T08:00:00+07:00") for day in (
    "2026-11-03",  # a week before the cells' reports
    "2026-11-13",  # reports late, reminders for the meeting and the forms
    "2026-11-24",  # forms late, repeats, escalations to parents and the office
    "2027-01-25",  # the bases, the district committees and the province late
)]


def _message_ids(keys: list[str]) -> list[str]:
    return [f"<{idempotency_key(key)}@{sender_domain(MAIL_FROM)}>" for key in keys]


def _one_instant(url: str, now: datetime, env: dict[str, str], db: Database, owed: int) -> str:
    """Run both processes at `now` until everything owed is sent; return which one led."""
    pair = [Serve(url, now=now, catch_up_seconds=3600, args=["--no-web"], env=env) for _ in range(2)]
    try:
        wait_until(lambda: any(s.logged("sweep") for s in pair), 60, f"a sweep at {now}")
        wait_until(lambda: all(s.logged("waiting_for_leadership") for s in pair), 30, "both to start")
        leaders = [i for i, s in enumerate(pair) if s.logged("leader")]
        assert len(leaders) == 1, f"{len(leaders)} processes lead at once"
        wait_until(lambda: outbox_statuses(db) == {"sent": owed}, 60, f"delivery at {now}")
        for serve in pair:
            serve.proc.send_signal(signal.SIGTERM)
        assert [s.wait(30) for s in pair] == [0, 0], [s.stderr for s in pair]
        return "AB"[leaders[0]]
    finally:
        for serve in pair:
            serve.kill()


def test_two_serves_over_a_season_write_and_deliver_each_notification_once(
        pg_url: str, tmp_path: Path, smtp: notify_fixtures.SmtpServer) -> None:
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    for url in (pg_url, reference_url):
        seeded(url)
    db, reference = Database(pg_url), Database(reference_url)
    # the digest (due from 07:30) after the day's last minute: the outbox is compared with sweeps alone
    env = {**smtp_env(smtp.port), "KIEMDIEM_PUBLIC_URL": PUBLIC_URL, "KIEMDIEM_DIGEST_TIME": "23:59"}
    owed: set[str] = set()
    led = []
    try:
        for now in SEASON:
            owed |= swept_keys(reference, now, ("email",), PUBLIC_URL, keep=True)
            led.append(_one_instant(pg_url, now, env, db, len(owed)))
            written = account(owed, outbox_keys(db))
            assert written.clean, f"outbox after {now:%d/%m/%Y}: {written}"
        delivered = account(_message_ids(sorted(owed)), smtp.recorder.message_ids())
    finally:
        db.dispose()
        reference.dispose()
    print(f"season of {len(SEASON)} instants, leaders {''.join(led)}: outbox {written}; SMTP {delivered}")
    assert len(owed) > 50
    assert delivered.clean, str(delivered)

"""Three `serve` processes on PostgreSQL delivering through misbehaving peers while being killed.

The peers live in this test process, on loopback: an SMTP server that answers 15% of DATA
with 451, drops 2% of connections, slows 5% by 1–3 s and loses 0.5% of its acks (the
message is kept, the connection dropped before "250"), and a webhook receiver answering 10%
with 503. The SMTP server is also out of service for `OUTAGE_S` (every recipient answered
with 421, "service not available"), longer than the whole back-off budget the dispatcher
used to give a row (8 attempts at 0.5 s doubling to 2 s: ~10 s).
Meanwhile an instance is killed with SIGKILL every few seconds (the leader 40% of the time,
the first time while its sweep is inserting) and restarted; once, all three at once. One
instance, the witness, is spared from the outage's start on: it must hold email down
through the outage (no flapping up while the server refuses) and bring it back up after.

At the end every row the sweep owed is in the outbox and `sent` (0 lost, 0 stuck, none
`dead`: the outage is far shorter than the give-up age); every message reached its peer;
repeats carry the same Message-ID / `webhook-id` and number at most
`KIEMDIEM_DISPATCH_CONCURRENCY` per kill (what the README promises), plus one per ack the
SMTP server lost; every stdout line is JSON and no traceback is written.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from benchmarks.generate import generate
from config.hierarchy import load_hierarchy
from notifiers.base import idempotency_key
from notifiers.mime import sender_domain
from tests.conftest import migrated
from tests.faults.ledger import account, outbox_statuses, swept_keys
from tests.notify_fixtures import HttpPeer, Recorder, SmtpServer, free_port
from tests.processes import MAIL_FROM, Serve, wait_until
from workflow.campaigns import create_campaign
from workflow.clock import system_clock
from workflow.db import Database
from workflow.models import Notification
from workflow.units import import_units

pytestmark = [
    pytest.mark.faults,
    # minutes of three `serve`s and their peers: `make faults` runs it, `make test` does not
    pytest.mark.skipif(not os.environ.get("KIEMDIEM_CHAOS"), reason="the chaos test runs under `make faults`"),
]

#: about 4,800 bundles (one per unit and channel, plus escalations): enough that mail is still
#: waiting when the outage begins
UNITS = 2600
PUBLIC_URL = "http://kiemdiem.example.vn"
CONCURRENCY = 8
OUTAGE_S = 25.0
#: the kills after the first: one every 2–5 s, the kill-all among them
KILLS = 10
KILL_ALL_AT = 2
OUTAGE_AT = 3
#: a send the server began before its outage may end after it began (a probe among them)
FLAP_GRACE = timedelta(seconds=5)
#: everything must be delivered within this after the last kill
SETTLE_S = 240.0


class UnreliableSmtp(Recorder):
    """The loopback SMTP server's handler, misbehaving at the issue's rates (seeded)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rand = random.Random(seed)
        self.lost_acks = 0
        self.out_of_service = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.out_of_service:
            return "421 4.3.2 service not available"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        roll = self.rand.random()
        if roll < 0.02:  # the connection drops before anything is kept
            server.transport.close()
            return "421 4.4.2 connection dropped"
        if roll < 0.17:
            return "451 4.3.0 try again later"
        if roll < 0.22:
            await asyncio.sleep(self.rand.uniform(1, 3))
        reply = await super().handle_DATA(server, session, envelope)
        if roll >= 0.995:  # kept, but the "250" never reaches the client
            self.lost_acks += 1
            server.transport.close()
        return reply


class UnreliableWebhook:
    """A webhook receiver answering 10% with 503; the `webhook-id`s it accepted, in order."""

    def __init__(self, seed: int) -> None:
        self.rand, self.accepted, self.lock = random.Random(seed), [], threading.Lock()
        self.peer = HttpPeer()
        self.peer.script = self.answer
        self.peer.thread.start()

    def answer(self, path: str, headers: dict[str, str], body: bytes):
        with self.lock:
            if self.rand.random() < 0.10:
                return 503, {}, {"error": "busy"}
            self.accepted.append(headers["webhook-id"])
        return 200, {}, {}

    def close(self) -> None:
        self.peer.server.shutdown()
        self.peer.server.server_close()


def _country(db: Database, folder: Path) -> None:
    """A generated tree with the 2026 campaign, without quiet hours (the test runs at any hour)."""
    generate(folder, units=UNITS, seed=7)
    plan = folder / "plan.yaml"
    plan.write_text("".join(line for line in plan.read_text().splitlines(keepends=True)
                            if not line.startswith("quiet_hours:")))
    hierarchy = load_hierarchy("2025")
    import_units(db, folder / "units.csv", hierarchy, system_clock, "test")
    create_campaign(db, 2026, plan, hierarchy, system_clock, "test")


def _sweep_inserting(db: Database) -> bool:
    """Another session has an open writing transaction (before any row exists: the sweep)."""
    with db.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL")).scalar())


def _env(smtp_port: int, webhook_url: str) -> dict[str, str]:
    return {
        "KIEMDIEM_CHANNELS": "email,webhook", "KIEMDIEM_PUBLIC_URL": PUBLIC_URL,
        "KIEMDIEM_SMTP_HOST": "127.0.0.1", "KIEMDIEM_SMTP_PORT": str(smtp_port),
        "KIEMDIEM_SMTP_TIMEOUT": "5", "KIEMDIEM_MAIL_FROM": MAIL_FROM,
        "KIEMDIEM_SMTP_CONNECTIONS": str(CONCURRENCY),
        "KIEMDIEM_WEBHOOK_URL": webhook_url, "KIEMDIEM_HTTP_TIMEOUT": "5",
        "KIEMDIEM_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"k" * 32).decode(),
        "KIEMDIEM_DISPATCH_BATCH": "50", "KIEMDIEM_DISPATCH_CONCURRENCY": str(CONCURRENCY),
        "KIEMDIEM_DISPATCH_LEASE_SECONDS": "10", "KIEMDIEM_DISPATCH_IDLE_SECONDS": "0.2",
        "KIEMDIEM_DISPATCH_BACKOFF_SECONDS": "0.5", "KIEMDIEM_DISPATCH_BACKOFF_MAX_SECONDS": "2",
        "KIEMDIEM_DISPATCH_PROBE_SECONDS": "0.5", "KIEMDIEM_DISPATCH_PROBE_MAX_SECONDS": "4",
    }


class Fleet:
    """Three `serve` processes; a killed one is replaced at once by a new one."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url, self.env = url, env
        self.all: list[Serve] = []
        self.live = [self._start() for _ in range(3)]
        self.kills = 0

    def _start(self) -> Serve:
        serve = Serve(self.url, env=self.env, catch_up_seconds=10, args=["--no-web"])
        self.all.append(serve)
        return serve

    def leader(self) -> Serve | None:
        leading = [s for s in self.live if s.logged("leader")]
        return leading[-1] if leading else None

    def kill(self, victim: Serve) -> None:
        victim.kill()
        self.kills += 1
        self.live[self.live.index(victim)] = self._start()

    def kill_all(self) -> None:
        for serve in self.live:
            serve.proc.send_signal(signal.SIGKILL)
        for serve in list(self.live):
            serve.wait()
            self.kills += 1
        self.live = [self._start() for _ in range(3)]

    def stop(self) -> list[int]:
        for serve in self.live:
            serve.proc.send_signal(signal.SIGTERM)
        return [serve.wait(60) for serve in self.live]

    def close(self) -> None:
        for serve in self.all:
            serve.kill()


class Outage(threading.Thread):
    """The SMTP server out of service for `OUTAGE_S`; when (UTC), to compare with the logs."""

    def __init__(self, handler: UnreliableSmtp) -> None:
        super().__init__()
        self.handler = handler
        self.began = self.ended = datetime.max.replace(tzinfo=UTC)

    def run(self) -> None:
        self.began, self.handler.out_of_service = datetime.now(UTC), True
        time.sleep(OUTAGE_S)
        self.handler.out_of_service, self.ended = False, datetime.now(UTC)


def test_three_serves_killed_and_a_long_smtp_outage_lose_nothing_and_repeat_only_within_the_bound(
        pg_url: str, tmp_path: Path) -> None:
    rand = random.Random(2026)
    handler = UnreliableSmtp(seed=1)
    smtp = SmtpServer(free_port(), handler=handler)
    smtp.start()
    webhook = UnreliableWebhook(seed=2)
    with migrated(pg_url) as db:
        _country(db, tmp_path / "country")
        owed = swept_keys(db, datetime.now(UTC), ("email", "webhook"), PUBLIC_URL)  # rolled back
        assert 3_000 <= len(owed) <= 8_000, len(owed)
        fleet = Fleet(pg_url, _env(smtp.port, webhook.peer.url))
        outage, witness = Outage(handler), None
        started = time.monotonic()
        try:
            # the first kill: the leader, while its sweep inserts
            wait_until(fleet.leader, 120, "a leader")
            wait_until(lambda: _sweep_inserting(db), 120, "the sweep to start inserting")
            fleet.kill(fleet.leader())
            with db.session() as s:
                assert s.scalar(select(Notification.id).limit(1)) is None, "the sweep ended before the kill"
            for number in range(1, KILLS + 1):
                time.sleep(rand.uniform(2, 5))
                if number == KILL_ALL_AT:
                    fleet.kill_all()
                    continue
                if number == OUTAGE_AT:
                    outage.start()
                    witness = next(s for s in fleet.live if s is not fleet.leader())
                victims = [s for s in fleet.live if s is not witness]
                leader = fleet.leader()
                fleet.kill(leader if leader in victims and rand.random() < 0.4 else rand.choice(victims))
            outage.join()
            deadline = time.monotonic() + SETTLE_S
            while not _settled(db):
                if time.monotonic() > deadline:
                    tails = [[e for e in s.events if e.get("channel") == "email"][-4:] for s in fleet.all]
                    raise AssertionError(f"not all sent after {SETTLE_S} s: {_by_channel(db)}; "
                                         f"SMTP received {handler.count()}; waiting rows' last errors: "
                                         f"{_waiting_errors(db)}; email events: {tails}")
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            codes = fleet.stop()
        finally:
            fleet.close()
            smtp.stop()
            webhook.close()
        with db.session() as s:
            rows = s.execute(select(Notification.channel, Notification.dedup_key, Notification.status)).all()
    statuses = Counter(status for _, _, status in rows)
    written = account(owed, [key for _, key, _ in rows if key in owed])
    domain = sender_domain(MAIL_FROM)
    mails = account([f"<{idempotency_key(k)}@{domain}>" for c, k, _ in rows if c == "email"],
                    handler.message_ids())
    hooks = account([f"msg_{idempotency_key(k)}" for c, k, _ in rows if c == "webhook"], webhook.accepted)
    repeats = sum(mails.duplicated.values()) + sum(hooks.duplicated.values())
    bound = fleet.kills * CONCURRENCY + handler.lost_acks
    events = [e for serve in fleet.all for e in serve.events]
    downs = [e for e in events if e["event"] == "channel_down" and e["channel"] == "email"]
    ups = [e for e in events if e["event"] == "channel_up" and e["channel"] == "email"]
    assert witness is not None
    witnessed = [(_at(e["since"]), _at(e["ts"])) for e in witness.logged("channel_up") if e["channel"] == "email"]
    print(f"{len(rows)} rows ({len(owed)} owed by the sweep), {fleet.kills} kills, "
          f"{handler.lost_acks} lost acks, {elapsed:.0f} s; statuses {dict(statuses)}; "
          f"email: {mails}; webhook: {hooks}; repeats {repeats} (bound {bound}); "
          f"longest email outage seen {max((e['down_s'] for e in ups), default=0)} s")
    assert written.clean and written.arrived == len(owed), str(written)  # the sweep lost nothing
    assert statuses == {"sent": len(rows)}, dict(statuses)  # nothing stuck, dead or failed
    assert not mails.lost and not mails.unexpected, str(mails)
    assert not hooks.lost and not hooks.unexpected, str(hooks)
    assert repeats <= bound, f"{repeats} repeats for {fleet.kills} kills"
    assert downs, "the outage was not seen"
    # the witness held email down until the server served again, and only then brought it up
    assert any(since <= outage.ended <= up for since, up in witnessed), (outage.began, outage.ended, witnessed)
    assert not [up for _, up in witnessed if outage.began + FLAP_GRACE <= up < outage.ended], witnessed
    assert codes == [0, 0, 0]
    assert not [line for serve in fleet.all for line in serve.not_json]
    assert not [serve.stderr for serve in fleet.all if "Traceback" in serve.stderr]


def _at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def _by_channel(db: Database) -> dict[tuple[str, str], int]:
    with db.session() as s:
        return {(c, st): n for c, st, n in s.execute(
            select(Notification.channel, Notification.status, func.count())
            .group_by(Notification.channel, Notification.status))}


def _waiting_errors(db: Database) -> dict[tuple[str, str | None], int]:
    """The last error of the rows not yet sent, counted per channel: why they are waiting."""
    with db.session() as s:
        return {(c, e): n for c, e, n in s.execute(
            select(Notification.channel, Notification.last_error, func.count())
            .where(Notification.status != "sent")
            .group_by(Notification.channel, Notification.last_error))}


def _settled(db: Database) -> bool:
    statuses = outbox_statuses(db)
    return bool(statuses) and set(statuses) == {"sent"}

"""The dispatcher over the outbox, on SQLite and PostgreSQL: claim, lease, retry, record,
channel health (down, probes, up), give-up by age, the bound on rows held at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from notifiers.base import DeliveryError, DeliveryResult, Message
from notifiers.dispatcher import Dispatcher, DispatchPolicy, backoff_delay
from notifiers.health import Health, channel_states
from notifiers.outbox import DIED, SUPERSEDED, claim, record_outcomes, requeue
from notifiers.render import Renderer
from tests.notify_fixtures import Clock
from tests.notify_helpers import T0, add_rows, payload
from workflow.models import ChannelHealth, Notification


class FakeChannel:
    """Answers from a script: None (accept), or a DeliveryError to raise, per call."""

    def __init__(self, *answers: DeliveryError | None) -> None:
        self.answers, self.sent = list(answers), []

    async def send(self, message: Message) -> DeliveryResult:
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        self.sent.append(message)
        return DeliveryResult()

    async def aclose(self) -> None:
        return None


POLICY = DispatchPolicy(batch=50, concurrency=8, lease=timedelta(minutes=5),
                        backoff=timedelta(minutes=1), backoff_max=timedelta(minutes=10),
                        give_up=timedelta(hours=72), probe=timedelta(seconds=10),
                        probe_max=timedelta(seconds=40))


class Ticks:
    """A monotonic clock a test moves by hand (the probes' pauses)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def dispatcher(db, channel, clock, policy=POLICY, events=None, ticks=None) -> Dispatcher:
    sink = events.append if events is not None else (lambda *_a, **_k: None)
    return Dispatcher(db, {"email": channel}, Renderer(), policy, clock, rand=lambda: 1.0,
                      events=lambda event, **fields: sink({"event": event, **fields}),
                      monotonic=ticks or Ticks())


def rows(db) -> list[Notification]:
    with db.session() as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)))


def test_step_sends_due_rows_once_and_records_them(db):
    add_rows(db, 5)
    add_rows(db, 1, channel="zalo_oa")  # not configured here: stays pending
    clock, channel = Clock(T0), FakeChannel()
    d = dispatcher(db, channel, clock)
    assert asyncio.run(d.step()) is True
    assert asyncio.run(d.step()) is False
    assert len(channel.sent) == 5
    stored = rows(db)
    assert [r.status for r in stored] == ["sent"] * 5 + ["pending"]
    assert all(r.sent_at == T0 and r.attempts == 1 and r.lease_until is None for r in stored[:5])
    assert channel.sent[0].subject.startswith("[Nhắc việc] Chi bộ số 0")


def test_rows_not_yet_due_wait(db):
    add_rows(db, 2, at=T0 + timedelta(hours=1))
    clock, channel = Clock(T0), FakeChannel()
    assert asyncio.run(dispatcher(db, channel, clock).step()) is False
    clock.advance(hours=1)
    assert asyncio.run(dispatcher(db, channel, clock).step()) is True
    assert len(channel.sent) == 2


def test_transient_failures_back_off_honour_retry_after_and_never_die_by_count(db):
    add_rows(db, 1)
    clock = Clock(T0)
    channel = FakeChannel(DeliveryError("451 later"), DeliveryError("429", retry_after=900),
                          *[DeliveryError("451 still")] * 10)
    d = dispatcher(db, channel, clock)
    asyncio.run(d.step())
    (row,) = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "451 later")
    assert row.next_attempt_at == T0 + timedelta(minutes=1)  # rand 1.0: the full first delay
    clock.advance(minutes=1)
    asyncio.run(d.step())
    (row,) = rows(db)
    assert row.next_attempt_at == clock.now + timedelta(seconds=900)  # Retry-After beats 2 min
    for _ in range(11):
        clock.now = rows(db)[0].next_attempt_at
        asyncio.run(d.step())
    (row,) = rows(db)
    assert (row.status, row.attempts) == ("sent", 13)  # twelve failures, then through


def test_permanent_failure_is_failed_with_reason_and_can_be_retried(db):
    add_rows(db, 2)
    clock = Clock(T0)
    channel = FakeChannel(DeliveryError("550 no such user", permanent=True))
    asyncio.run(dispatcher(db, channel, clock).step())
    statuses = sorted((r.status, r.last_error or "") for r in rows(db))
    assert statuses == [("failed", "550 no such user"), ("sent", "")]
    failed = next(r for r in rows(db) if r.status == "failed")
    assert requeue(db, now=clock.now, ids=[failed.id]) == 1
    asyncio.run(dispatcher(db, channel, clock).step())
    assert [r.status for r in rows(db)] == ["sent", "sent"]


def test_unrenderable_row_fails_permanently(db):
    add_rows(db, 1)
    with db.session(write=True) as s:
        s.execute(update(Notification).values(payload={"year": 2026}))
    asyncio.run(dispatcher(db, FakeChannel(), Clock(T0)).step())
    (row,) = rows(db)
    assert row.status == "failed" and "cannot render" in row.last_error


def test_expired_lease_is_claimed_again_and_a_stale_outcome_is_ignored(db):
    add_rows(db, 1)
    first = claim(db, now=T0, channels=["email"], limit=10, lease=timedelta(minutes=5))
    assert len(first) == 1 and first[0].attempts == 1
    # still leased: nobody else gets it
    assert claim(db, now=T0 + timedelta(minutes=4), channels=["email"], limit=10,
                 lease=timedelta(minutes=5)) == []
    later = T0 + timedelta(minutes=6)
    second = claim(db, now=later, channels=["email"], limit=10, lease=timedelta(minutes=5))
    assert [c.attempts for c in second] == [2]
    from notifiers.outbox import DeliveryOutcome
    assert record_outcomes(db, [DeliveryOutcome(first[0], "failed", "late answer")], later) == 0  # fenced out
    assert record_outcomes(db, [DeliveryOutcome(second[0], "sent")], later) == 1
    assert rows(db)[0].status == "sent"


def test_a_row_taken_over_from_a_dead_instance_says_so_and_is_abandoned_only_by_age(db):
    add_rows(db, 2)
    lease = timedelta(minutes=5)
    for i in range(20):  # its instance dies twenty times: still not dead
        assert claim(db, now=T0 + i * 2 * lease, channels=["email"], limit=1, lease=lease)
    (first, _) = rows(db)
    assert first.status == "sending" and first.attempts == 20 and first.last_error == DIED
    events: list[dict] = []
    later = T0 + timedelta(hours=72, minutes=1)
    d = dispatcher(db, FakeChannel(), Clock(later), events=events)
    assert asyncio.run(d.step()) is False
    stored = rows(db)
    assert [r.status for r in stored] == ["dead", "dead"]
    assert stored[0].last_error == f"gave up after 72 h: {DIED}"
    assert stored[1].last_error == "gave up after 72 h: never attempted"
    assert [(e["event"], e["id"], e["attempts"]) for e in events] == [
        ("gave_up", stored[0].id, 20), ("gave_up", stored[1].id, 0)]


def test_a_row_younger_than_the_give_up_age_waits_whatever_its_attempts(db):
    add_rows(db, 1)
    clock = Clock(T0 + timedelta(hours=71))
    d = dispatcher(db, FakeChannel(*[DeliveryError("451")] * 3), clock)
    asyncio.run(d.step())
    assert rows(db)[0].status == "pending"


def test_an_unreachable_peer_stops_the_channel_refunds_the_attempts_and_probes_with_growing_pauses(db):
    add_rows(db, 20)
    clock, ticks, events = Clock(T0), Ticks(), []
    down = DeliveryError("SMTP connection failed: refused", unreachable=True)
    channel = FakeChannel(*[down] * 11)  # the first batch (8 senders) and three probes fail
    d = dispatcher(db, channel, clock, events=events, ticks=ticks)
    asyncio.run(d.step())
    assert [e["event"] for e in events] == ["channel_down"] and "refused" in events[0]["error"]
    assert {(r.status, r.attempts) for r in rows(db)} == {("pending", 0)}  # no attempt spent
    assert asyncio.run(d.step()) is False  # down: nothing claimed before the pause is over
    pauses = []
    for _ in range(3):  # probes: one row each, the pause doubling up to its cap
        before = ticks.now
        while not asyncio.run(d.step()):
            ticks.now += 1
        pauses.append(ticks.now - before)
    assert pauses == [10, 20, 40] and {r.attempts for r in rows(db)} == {0}
    with db.session() as s:
        (health,) = s.scalars(select(ChannelHealth))
    assert health.channel == "email" and "refused" in health.error
    assert channel_states(db, clock.now)["email"]["state"] == "down"
    ticks.now += 40
    assert asyncio.run(d.step()) is True  # the probe goes through: the channel is up
    assert events[-1]["event"] == "channel_up" and events[-1]["down_s"] == 110
    while asyncio.run(d.step()):
        pass
    assert {(r.status, r.attempts) for r in rows(db)} == {("sent", 1)}
    assert channel_states(db, clock.now) == {}


def test_an_instance_never_holds_more_rows_than_its_senders(db):
    add_rows(db, 30)
    clock = Clock(T0)
    held = []

    class Watching(FakeChannel):
        async def send(self, message):
            with db.session() as s:
                held.append(s.scalar(select(func.count()).where(Notification.status == "sending")))
            return await super().send(message)

    d = dispatcher(db, Watching(), clock, policy=replace(POLICY, concurrency=4))
    while asyncio.run(d.step()):
        pass
    assert max(held) == 4 and len(held) == 30


def test_held_rows_leases_are_renewed_so_a_live_instance_keeps_them(db):
    add_rows(db, 3)
    ticks = Ticks()
    d = dispatcher(db, FakeChannel(), Clock(T0), ticks=ticks)
    held = claim(db, now=T0, channels=["email"], limit=3, lease=POLICY.lease)
    d.held = {row.id: row for row in held}
    later = T0 + timedelta(minutes=4)
    d.clock = Clock(later)
    ticks.now = 100  # more than a third of the lease since the last renewal
    asyncio.run(d._maintain())
    assert claim(db, now=T0 + timedelta(minutes=6), channels=["email"], limit=3, lease=POLICY.lease) == []
    assert {r.lease_until for r in rows(db)} == {later + POLICY.lease}


def test_retry_all_failed(db):
    add_rows(db, 3)
    with db.session(write=True) as s:
        s.execute(update(Notification).values(status="failed", attempts=1, last_error="x"))
    assert requeue(db, now=T0, all_failed=True) == 3
    assert {(r.status, r.attempts) for r in rows(db)} == {("pending", 0)}


def test_backoff_doubles_is_capped_and_jittered():
    assert backoff_delay(1, POLICY, None, lambda: 0.0) == 30.0
    assert backoff_delay(2, POLICY, None, lambda: 1.0) == 120.0
    assert backoff_delay(9, POLICY, None, lambda: 1.0) == 600.0
    assert backoff_delay(1, POLICY, 3600, lambda: 1.0) == 3600.0


def test_a_send_begun_before_the_channel_went_down_does_not_bring_it_up(db):
    ticks, events = Ticks(), []
    health = Health(db, ["email"], timedelta(seconds=10), timedelta(seconds=40), Clock(T0),
                    lambda event, **fields: events.append((event, fields)), ticks)
    ticks.now = 5
    assert health.failed("email", "SMTP 421 service not available", started=4)
    health.succeeded("email", started=3)  # a transaction the peer had begun before its outage
    assert health.up_channels() == [] and [e for e, _ in events] == ["channel_down"]
    ticks.now = 15
    assert health.probes_due() == ["email"]
    health.probe_started("email", claimed=True)
    health.succeeded("email", started=15)  # the probe went through
    health.flush()
    assert health.up_channels() == ["email"]
    assert events[-1] == ("channel_up", {"channel": "email", "down_s": 10.0, "since": T0.isoformat()})


def test_after_an_outage_only_the_latest_bundle_goes_out(db):
    """Yesterday's bundle still waiting when today's is written is pointless: today's restates
    whatever is still owed. It is abandoned and says why; another unit's, a parent's
    escalation and an officer's manual reminder are not touched."""
    def bundle(key: str, kind: str, unit_id: int, at, recipient: str = "chibo@example.vn") -> dict:
        return dict(dedup_key=key, kind=kind, channel="email", recipient=recipient, unit_id=unit_id,
                    stage="forms_submitted", payload=payload(kind), status="pending", attempts=1,
                    last_error="451 try later", next_attempt_at=at, created_at=at, updated_at=at)

    day2 = T0 + timedelta(days=1)
    with db.session(write=True) as s:
        s.execute(insert(Notification), [
            bundle("d1-notice", "late", 7, T0), bundle("d1-escalation", "escalation", 7, T0),
            bundle("d1-manual", "manual", 7, T0), bundle("d1-other-unit", "late", 8, T0, "khac@example.vn"),
            bundle("d2-notice", "repeat", 7, day2)])
    events: list[dict] = []
    channel = FakeChannel()
    asyncio.run(dispatcher(db, channel, Clock(day2), events=events).step())
    status = {r.dedup_key: (r.status, r.last_error) for r in rows(db)}
    assert status["d1-notice"] == ("dead", SUPERSEDED)
    assert {key: st for key, (st, _) in status.items() if key != "d1-notice"} == {
        "d1-escalation": "sent", "d1-manual": "sent", "d1-other-unit": "sent", "d2-notice": "sent"}
    assert [(e["event"], e["error"]) for e in events if e["event"] == "gave_up"] == [("gave_up", SUPERSEDED)]
    assert len(channel.sent) == 4

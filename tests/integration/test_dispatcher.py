"""The dispatcher over the outbox, on SQLite and PostgreSQL: claim, lease, retry, record."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from notifiers.base import DeliveryError, DeliveryResult, Message
from notifiers.dispatcher import Dispatcher, DispatchPolicy, backoff_delay
from notifiers.outbox import claim, record, requeue
from notifiers.render import Renderer
from tests.notify_fixtures import Clock
from tests.notify_helpers import T0, add_rows
from workflow.models import Notification


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


POLICY = DispatchPolicy(batch=50, concurrency=8, max_attempts=3, lease=timedelta(minutes=5),
                        backoff=timedelta(minutes=1), backoff_max=timedelta(minutes=10))


def dispatcher(db, channel, clock, policy=POLICY) -> Dispatcher:
    return Dispatcher(db, {"email": channel}, Renderer(), policy, clock, rand=lambda: 1.0)


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


def test_transient_failures_back_off_honour_retry_after_then_die(db):
    add_rows(db, 1)
    clock = Clock(T0)
    channel = FakeChannel(DeliveryError("451 later"), DeliveryError("429", retry_after=900),
                          DeliveryError("451 still"))
    d = dispatcher(db, channel, clock)
    asyncio.run(d.step())
    (row,) = rows(db)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "451 later")
    assert row.next_attempt_at == T0 + timedelta(minutes=1)  # rand 1.0: the full first delay
    clock.advance(minutes=1)
    asyncio.run(d.step())
    (row,) = rows(db)
    assert row.next_attempt_at == clock.now + timedelta(seconds=900)  # Retry-After beats 2 min
    clock.advance(seconds=900)
    asyncio.run(d.step())
    (row,) = rows(db)
    assert (row.status, row.attempts) == ("dead", 3)
    assert "gave up after 3 attempts: 451 still" == row.last_error


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
    first = claim(db, now=T0, channels=["email"], limit=10, lease=timedelta(minutes=5), max_attempts=3)
    assert len(first) == 1 and first[0].attempts == 1
    # still leased: nobody else gets it
    assert claim(db, now=T0 + timedelta(minutes=4), channels=["email"], limit=10,
                 lease=timedelta(minutes=5), max_attempts=3) == []
    later = T0 + timedelta(minutes=6)
    second = claim(db, now=later, channels=["email"], limit=10, lease=timedelta(minutes=5),
                   max_attempts=3)
    assert [c.attempts for c in second] == [2]
    from notifiers.outbox import Outcome
    assert record(db, [Outcome(first[0], "failed", "late answer")], later) == 0  # fenced out
    assert record(db, [Outcome(second[0], "sent")], later) == 1
    assert rows(db)[0].status == "sent"


def test_a_row_whose_last_attempt_died_with_its_process_is_dead(db):
    add_rows(db, 1)
    lease = timedelta(minutes=5)
    for i in range(3):
        assert claim(db, now=T0 + i * 2 * lease, channels=["email"], limit=1, lease=lease,
                     max_attempts=3)
    assert claim(db, now=T0 + 7 * lease, channels=["email"], limit=1, lease=lease,
                 max_attempts=3) == []
    (row,) = rows(db)
    assert row.status == "dead" and "lease expired" in row.last_error


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

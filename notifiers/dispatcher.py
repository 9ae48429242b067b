"""The dispatcher: claim due outbox rows, render and send them concurrently, record outcomes.

One instance never holds more than `concurrency` rows at once, whatever it is doing with
them (sending, or waiting for its outcome to be committed): it claims only as many rows as
it has free senders, and a sender is freed once the outcome is written. So a kill -9 can
repeat at most `concurrency` messages of that instance — the rows it held, which another
instance sends again when their leases run out. Leases are renewed while rows are held,
so a live instance never loses a row to another, however slow its peer.

Outcomes that complete while a record is being written are written together by the next
one, so a busy dispatcher commits in small groups and an idle one at once. `step()` claims
what free senders can take and waits for all of it (tests drive it step by step); `run()`
claims again as soon as a sender is free.

Transient failures go back to `pending` after an exponential back-off with jitter (never
sooner than the peer's `Retry-After`), however many attempts that takes; a row is abandoned
(`dead`) only when it is older than `give_up` (`notifiers.outbox.give_up`). A failure that
says the peer is unreachable marks the channel down instead (`notifiers.health`): the row
gets its attempt back and the channel's rows wait for a probe to succeed. Permanent failures
(and messages that cannot be rendered) become `failed` with the reason on the first attempt.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from notifiers.base import Channel, DeliveryError
from notifiers.health import EventLog, Health
from notifiers.outbox import Claimed, DeliveryOutcome, claim, give_up, record_outcomes, renew
from notifiers.render import Renderer, RenderError
from workflow.clock import Clock, system_clock
from workflow.db import Database
from workflow.errors import first_line

log = logging.getLogger(__name__)

#: told the outcome of every dispatch step: the exception it raised, or None
StepReport = Callable[[Exception | None], None]
#: how often rows older than the give-up age are looked for
GIVE_UP_CHECK_SECONDS = 60.0
#: what became of a row, as `Dispatcher.tally` counts it, from the status its outcome set
#: (`pending` again: it is retried later)
TALLIED = {"sent": "sent", "pending": "retry", "failed": "failed"}


def logged_event(event: str, **fields: Any) -> None:
    """The dispatcher's events when nobody takes them (`serve` and `dispatch` write JSON lines)."""
    log.info("%s %s", event, fields)


@dataclass(frozen=True)
class DispatchPolicy:
    """How much to take at once, how to retry and when to give up (from `Settings.dispatch_*`)."""

    batch: int = 200
    concurrency: int = 16
    lease: timedelta = timedelta(minutes=5)
    backoff: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=1)
    give_up: timedelta = timedelta(hours=72)
    probe: timedelta = timedelta(seconds=15)
    probe_max: timedelta = timedelta(minutes=10)


def backoff_delay(attempts: int, policy: DispatchPolicy, retry_after: float | None,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt `attempts + 1`: doubling, capped, half-jittered,
    and never less than the peer's `Retry-After`."""
    base = policy.backoff.total_seconds() * 2 ** min(max(attempts - 1, 0), 32)
    ceiling = min(base, policy.backoff_max.total_seconds())
    delay = ceiling / 2 + rand() * ceiling / 2
    return max(delay, retry_after or 0.0)


class Dispatcher:
    """Deliver due rows of the channels it has; rows of other channels stay pending."""

    def __init__(self, db: Database, channels: Mapping[str, Channel], renderer: Renderer,
                 policy: DispatchPolicy = DispatchPolicy(), clock: Clock = system_clock,
                 rand: Callable[[], float] = random.random, events: EventLog = logged_event,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db, self.channels, self.renderer = db, dict(channels), renderer
        self.policy, self.clock, self.rand, self.events = policy, clock, rand, events
        self.monotonic = monotonic
        self.health = Health(db, self.channels, policy.probe, policy.probe_max, clock, events, monotonic)
        self.held: dict[int, Claimed] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.writes = asyncio.Lock()  # renewals and records touch the same rows: one at a time
        self.recorder = _Recorder(db, clock, self._release, events, self.writes)
        self._freed: asyncio.Event | None = None
        self._given_up_at: float | None = None
        self._renewed_at = monotonic()
        #: (channel, `sent` | `retry` | `failed` | `dead`) -> rows: what this instance did
        self.tally: Counter[tuple[str, str]] = Counter()

    # -- claiming -------------------------------------------------------------------------

    async def fill(self) -> int:
        """Claim as many due rows as there are free senders and start sending them."""
        await self._maintain()
        started = 0
        for channel in self.health.probes_due():
            if len(self.held) >= self.policy.concurrency:
                break
            rows = await self._claim([channel], 1)
            self.health.probe_started(channel, bool(rows))
            started += len(rows)
        free = self.policy.concurrency - len(self.held)
        channels = self.health.up_channels()
        # claims wait for a quarter of the senders to be free: one claim per row would cost a
        # transaction per message
        if channels and free > 0 and (4 * free >= self.policy.concurrency or not self.held):
            started += len(await self._claim(channels, min(free, self.policy.batch)))
        return started

    async def _claim(self, channels: list[str], limit: int) -> list[Claimed]:
        rows = await asyncio.to_thread(claim, self.db, now=self.clock(), channels=channels, limit=limit,
                                       lease=self.policy.lease)
        for row in rows:
            self.held[row.id] = row
            task = asyncio.create_task(self._one(row))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return rows

    async def _maintain(self) -> None:
        """Renew the leases of held rows (a third of the lease at most since the last time) and,
        every `GIVE_UP_CHECK_SECONDS`, abandon rows older than the give-up age."""
        now = self.monotonic()
        if self.held and now - self._renewed_at >= self.policy.lease.total_seconds() / 3:
            self._renewed_at = now
            try:
                async with self.writes:
                    await asyncio.to_thread(renew, self.db, list(self.held.values()), self.clock(),
                                            self.policy.lease)
            except Exception as exc:  # noqa: BLE001 - tried again a third of a lease later
                self.events("renew_failed", rows=len(self.held), error=first_line(exc))
        elif not self.held:
            self._renewed_at = now
        if self._given_up_at is None or now - self._given_up_at >= GIVE_UP_CHECK_SECONDS:
            self._given_up_at = now
            abandoned = await asyncio.to_thread(give_up, self.db, now=self.clock(), channels=list(self.channels),
                                                age=self.policy.give_up)
            for row in abandoned:
                self.tally[(row["channel"], "dead")] += 1
                self.events("gave_up", id=row["id"], kind=row["kind"], channel=row["channel"],
                            recipient=row["recipient"], attempts=row["attempts"],
                            created_at=row["created_at"], error=row["last_error"])

    def _release(self, outcomes: list[DeliveryOutcome]) -> None:
        for outcome in outcomes:
            self.held.pop(outcome.row.id, None)
            self.tally[(outcome.row.channel, TALLIED[outcome.status])] += 1
        if self._freed is not None:
            self._freed.set()

    # -- sending --------------------------------------------------------------------------

    async def _one(self, row: Claimed) -> None:
        outcome = await self.deliver(row)
        self.recorder.add(outcome)

    async def step(self) -> bool:
        """Claim what the free senders can take and deliver it; return whether there was work."""
        started = await self.fill()
        while self.tasks:
            await asyncio.gather(*list(self.tasks))
        await self.recorder.drain()
        await asyncio.to_thread(self.health.flush)
        return started > 0

    async def deliver(self, row: Claimed) -> DeliveryOutcome:
        """Render and send one claimed row; return what should become of it."""
        started = self.monotonic()
        try:
            message = self.renderer.render(kind=row.kind, channel=row.channel,
                                           recipient=row.recipient, dedup_key=row.dedup_key,
                                           payload=row.payload, outbox_id=row.id)
            result = await self.channels[row.channel].send(message)
        except RenderError as exc:
            self.health.probe_ended(row.channel)
            return DeliveryOutcome(row, "failed", str(exc))
        except DeliveryError as exc:
            return self._failure(row, exc, started)
        except Exception as exc:  # noqa: BLE001 - a channel bug must not stop the others
            self.events("delivery_error", id=row.id, channel=row.channel,
                        error=f"{type(exc).__name__}: {exc}")
            return self._failure(row, DeliveryError(f"{type(exc).__name__}: {exc}"), started)
        self.health.succeeded(row.channel, started)
        return DeliveryOutcome(row, "sent", reference=result.reference, duration_ms=self._ms_since(started))

    def _ms_since(self, started: float) -> float:
        return round((self.monotonic() - started) * 1000, 1)

    def _failure(self, row: Claimed, exc: DeliveryError, started: float) -> DeliveryOutcome:
        error, took = str(exc), self._ms_since(started)
        if exc.unreachable and self.health.failed(row.channel, error, started):
            return DeliveryOutcome(row, "pending", error, self.clock(), refund=True, duration_ms=took)
        self.health.probe_ended(row.channel)
        if exc.permanent:
            return DeliveryOutcome(row, "failed", error, duration_ms=took)
        delay = backoff_delay(row.attempts, self.policy, exc.retry_after, self.rand)
        return DeliveryOutcome(row, "pending", error, self.clock() + timedelta(seconds=delay), duration_ms=took)

    # -- loops ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, idle: float = 5.0, report: StepReport | None = None) -> None:
        """Deliver until `stop` is set: claim whenever senders are free, poll every `idle`
        seconds when nothing is due.

        A claim that fails (the database is unreachable) is retried after `idle`; `report` is
        told each claim's outcome (the error, or None), so `serve` can say when the database
        went away and came back; without it a failure is logged.
        """
        await self._loop(stop, idle, report or _log_failure, until_idle=False)

    async def run_until_idle(self) -> None:
        """Deliver until nothing is due now and nothing is held (`dispatch --once`)."""
        await self._loop(asyncio.Event(), 0.2, _raise, until_idle=True)

    async def _loop(self, stop: asyncio.Event, idle: float, report: StepReport, until_idle: bool) -> None:
        self._freed = asyncio.Event()
        try:
            while not stop.is_set():
                self._freed.clear()
                try:
                    started = await self.fill()
                except Exception as exc:  # noqa: BLE001 - a database hiccup: report it, wait, go on
                    report(exc)
                    started = 0
                else:
                    report(None)
                if until_idle and not started and not self.held:
                    return
                if started and 4 * (self.policy.concurrency - len(self.held)) >= self.policy.concurrency:
                    continue  # maybe more is due
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._freed.wait())]
                await asyncio.wait(waits, timeout=min(idle, self.policy.lease.total_seconds() / 3),
                                   return_when=asyncio.FIRST_COMPLETED)
                for waiter in waits:
                    waiter.cancel()
        finally:
            await self.finish()

    async def finish(self) -> None:
        """Let the sends in progress end and their outcomes (and the channels' states) be written."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        await self.recorder.drain()
        await asyncio.to_thread(self.health.flush)

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()


def _raise(error: Exception | None) -> None:
    if error is not None:
        raise error


def _log_failure(error: Exception | None) -> None:
    if error is not None:
        log.error("dispatch step failed: %s: %s", type(error).__name__, error)


class _Recorder:
    """Write outcomes as they arrive, coalescing those that arrive during a write; tell
    `written` which were written, so their senders are free again."""

    def __init__(self, db: Database, clock: Clock, written: Callable[[list[DeliveryOutcome]], None],
                 events: EventLog, writes: asyncio.Lock) -> None:
        self.db, self.clock, self.written, self.events, self.writes = db, clock, written, events, writes
        self.waiting: list[DeliveryOutcome] = []
        self.task: asyncio.Task[None] | None = None

    def add(self, outcome: DeliveryOutcome) -> None:
        self.waiting.append(outcome)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                async with self.writes:
                    await asyncio.to_thread(record_outcomes, self.db, batch, self.clock())
            except Exception as exc:  # noqa: BLE001 - the database went away
                # the rows stay `sending`: whoever claims them after their lease sends them again
                self.events("record_failed", rows=len(batch), error=first_line(exc))
            self.written(batch)

    async def drain(self) -> None:
        while self.task is not None and not self.task.done():
            await self.task

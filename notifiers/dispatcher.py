"""The dispatcher: claim due outbox rows, render and send them concurrently, record outcomes.

One `step()` claims a batch (committed as `sending` first), sends it with at most
`concurrency` messages in flight, and records each outcome as soon as it is known: outcomes
that complete while a record is being written are written together by the next one, so a
busy dispatcher commits in small groups and an idle one at once. `step()` returns whether
there was work (so more may be waiting), so tests drive it step by step and `run()` loops on it.

Transient failures go back to `pending` after an exponential back-off with jitter (never
sooner than the peer's `Retry-After`) until `max_attempts`, then `dead`; permanent failures
(and messages that cannot be rendered) become `failed` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from notifiers.base import Channel, DeliveryError
from notifiers.outbox import Claimed, Outcome, claim, record
from notifiers.render import Renderer, RenderError
from workflow.clock import Clock, system_clock
from workflow.db import Database

log = logging.getLogger(__name__)

#: batches in flight at once: while one waits for its last sends and records, the next is
#: already sending, so the connections never sit idle between batches
LANES = 2

#: told the outcome of every dispatch step: the exception it raised, or None
StepReport = Callable[[Exception | None], None]


@dataclass(frozen=True)
class DispatchPolicy:
    """How much to take at once and how to retry (from `Settings.dispatch_*`)."""

    batch: int = 200
    concurrency: int = 16
    max_attempts: int = 8
    lease: timedelta = timedelta(minutes=5)
    backoff: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=1)


def backoff_delay(attempts: int, policy: DispatchPolicy, retry_after: float | None,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt `attempts + 1`: doubling, capped, half-jittered,
    and never less than the peer's `Retry-After`."""
    base = policy.backoff.total_seconds() * 2 ** max(attempts - 1, 0)
    ceiling = min(base, policy.backoff_max.total_seconds())
    delay = ceiling / 2 + rand() * ceiling / 2
    return max(delay, retry_after or 0.0)


class Dispatcher:
    """Deliver due rows of the channels it has; rows of other channels stay pending."""

    def __init__(self, db: Database, channels: Mapping[str, Channel], renderer: Renderer,
                 policy: DispatchPolicy = DispatchPolicy(), clock: Clock = system_clock,
                 rand: Callable[[], float] = random.random) -> None:
        self.db, self.channels, self.renderer = db, dict(channels), renderer
        self.policy, self.clock, self.rand = policy, clock, rand

    async def step(self) -> bool:
        """Claim one batch and deliver it; return whether there was work (so maybe more)."""
        rows = await asyncio.to_thread(
            claim, self.db, now=self.clock(), channels=self.channels, limit=self.policy.batch,
            lease=self.policy.lease, max_attempts=self.policy.max_attempts)
        if not rows:
            return False
        slots = asyncio.Semaphore(self.policy.concurrency)
        recorder = _Recorder(self.db, self.clock)

        async def one(row: Claimed) -> None:
            async with slots:
                recorder.add(await self.deliver(row))

        await asyncio.gather(*(one(row) for row in rows))
        await recorder.drain()
        return True

    async def deliver(self, row: Claimed) -> Outcome:
        """Render and send one claimed row; return what should become of it."""
        try:
            message = self.renderer.render(kind=row.kind, channel=row.channel,
                                           recipient=row.recipient, dedup_key=row.dedup_key,
                                           payload=row.payload, outbox_id=row.id)
            await self.channels[row.channel].send(message)
        except RenderError as exc:
            return Outcome(row, "failed", str(exc))
        except DeliveryError as exc:
            return self._failure(row, str(exc), exc.permanent, exc.retry_after)
        except Exception as exc:  # noqa: BLE001 - a channel bug must not stop the others
            log.exception("unexpected error delivering outbox row %s", row.id)
            return self._failure(row, f"{type(exc).__name__}: {exc}", False, None)
        return Outcome(row, "sent")

    def _failure(self, row: Claimed, error: str, permanent: bool,
                 retry_after: float | None) -> Outcome:
        if permanent:
            return Outcome(row, "failed", error)
        if row.attempts >= self.policy.max_attempts:
            return Outcome(row, "dead", f"gave up after {row.attempts} attempts: {error}")
        delay = backoff_delay(row.attempts, self.policy, retry_after, self.rand)
        return Outcome(row, "pending", error, self.clock() + timedelta(seconds=delay))

    async def run(self, stop: asyncio.Event, idle: float = 5.0, report: StepReport | None = None) -> None:
        """Deliver until `stop` is set, polling every `idle` seconds when nothing is due.

        A step that fails (the database is unreachable) is retried after `idle`; `report` is
        told each step's outcome (the error, or None), so `serve` can say when the database
        went away and came back; without it a failure is logged with its traceback.
        """
        await asyncio.gather(*(self._lane(stop, idle, report or _log_failure) for _ in range(LANES)))

    async def _lane(self, stop: asyncio.Event, idle: float, report: StepReport) -> None:
        while not stop.is_set():
            try:
                more = await self.step()
            except Exception as exc:  # noqa: BLE001 - a database hiccup: report it, wait, go on
                report(exc)
                more = False
            else:
                report(None)
            if not more:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle)
                except TimeoutError:
                    pass

    async def run_until_idle(self) -> None:
        """Deliver until nothing is due now (`dispatch --once`)."""

        async def lane() -> None:
            while await self.step():
                pass

        await asyncio.gather(*(lane() for _ in range(LANES)))

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()


def _log_failure(error: Exception | None) -> None:
    if error is not None:
        log.error("dispatch step failed", exc_info=error)


class _Recorder:
    """Write outcomes as they arrive, coalescing those that arrive during a write."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.waiting: list[Outcome] = []
        self.task: asyncio.Task[None] | None = None

    def add(self, outcome: Outcome) -> None:
        self.waiting.append(outcome)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            await asyncio.to_thread(record, self.db, batch, self.clock())

    async def drain(self) -> None:
        while self.task is not None and not self.task.done():
            await self.task

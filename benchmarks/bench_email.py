"""Email delivery (issue 4): the dispatcher against a bare aiosmtplib loop, same run, same server.

    python -m benchmarks.bench_email [--messages 10000] [--connections 4] [--runs 3]
                                     [--backends sqlite,postgresql]

An aiosmtpd sink runs in a process of its own on 127.0.0.1 (it accepts and forgets). The
baseline is the bare aiosmtplib loop the issue names (~380 msg/s there): `connections`
sessions sending the same emails, built beforehand (not timed) as standard-library
`EmailMessage`s, with `send_message`. A second, stricter floor is reported beside it without
a target: the same sessions sending the very bytes the dispatcher writes (`sendmail`), i.e.
the cost of SMTP alone. The dispatcher delivers the same number of outbox rows from a fresh
database: claim, render, build, send, record. Target: at least 80 % of the bare loop's
throughput, i.e. at most 1.25× its time. Last, the
dispatcher's own cost per message with no sending at all (claim + record): under 2 ms, i.e.
under 20 s for 10,000 rows. Results go to the `email` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import multiprocessing
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import func, select

from benchmarks.datasets import BACKENDS, empty_database
from benchmarks.harness import Report, time_callable
from config.settings import Settings
from kiemdiem.app import App
from kiemdiem.dispatching import dispatch
from notifiers.base import Message
from notifiers.mime import MimeBuilder
from notifiers.outbox import DeliveryOutcome, claim, record_outcomes
from notifiers.render import Renderer
from tests.notify_fixtures import free_port
from tests.notify_helpers import add_rows, payload
from workflow.db import Database
from workflow.models import Notification
from workflow.schema import upgrade

#: how long before a run its rows fell due: recent, since the dispatcher gives up a row that
#: was never attempted within its give-up age (72 h) instead of sending it
DUE_BEFORE_RUN = timedelta(hours=1)
SENDER = "kd@example.vn"
#: the envelope recipient of the ready-bytes floor (the sink accepts anyone)
RECIPIENT = "u0@example.vn"
#: "at least 80 % of the bare loop's throughput" as a ratio of times
MAX_TIME_RATIO = 1 / 0.8
OVERHEAD_LIMIT_MS = 2.0
_SENT = select(func.count()).select_from(Notification).where(Notification.status == "sent")


def sink(port: int, ready: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    """An SMTP server that accepts and forgets (runs in its own process)."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()  # type: ignore[attr-defined]
    while True:
        time.sleep(3600)


def rendered(count: int) -> list[Message]:
    renderer = Renderer()
    return [renderer.render(kind="reminder", channel="email", recipient=f"u{i}@example.vn",
                            dedup_key=f"k{i}", payload=payload()) for i in range(count)]


def standard_messages(count: int) -> list[EmailMessage]:
    """The emails as a plain aiosmtplib user builds them: `EmailMessage`, text + HTML."""
    built = []
    for message in rendered(count):
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = SENDER, message.recipient, message.subject
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        built.append(email)
    return built


def ready_bytes(count: int) -> list[bytes]:
    """The very bytes the dispatcher sends (kiemdiem's own MIME writer)."""
    builder = MimeBuilder(SENDER)
    return [builder.build(message, datetime.now(UTC)).data for message in rendered(count)]


async def bare_loop(port: int, messages: list[EmailMessage] | list[bytes], connections: int) -> None:
    """`connections` sessions draining one list: `send_message` for messages, `sendmail` for bytes."""
    async def worker() -> None:
        session = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await session.connect()
        while messages:
            message = messages.pop()
            if isinstance(message, bytes):
                await session.sendmail(SENDER, [RECIPIENT], message)
            else:
                await session.send_message(message)
        await session.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


class FreshOutbox:
    """A new database holding `count` due email rows, made before each timed run."""

    def __init__(self, backend: str, count: int) -> None:
        self.backend, self.count, self.url = backend, count, ""
        self.due = datetime.now(UTC)

    def __call__(self) -> None:
        self.url = empty_database(self.backend, "kiemdiem_bench_email")
        db = Database(self.url)
        upgrade(db)
        self.due = datetime.now(UTC) - DUE_BEFORE_RUN
        add_rows(db, self.count, at=self.due)
        db.dispose()


def deliver(outbox: FreshOutbox, port: int, connections: int) -> None:
    app = App(Settings(database_url=outbox.url, channels=("email",), smtp_port=port,
                       smtp_connections=connections, mail_from=SENDER))
    try:
        asyncio.run(dispatch(app))
        with app.db.session() as session:
            sent = session.execute(_SENT).scalar_one()
        assert sent == outbox.count, f"{sent} of {outbox.count} rows sent"
    finally:
        app.close()


def claim_and_record(outbox: FreshOutbox, batch: int = 200) -> None:
    """The dispatcher's bookkeeping alone: claim every row in batches and record it sent."""
    db = Database(outbox.url)
    now = outbox.due + DUE_BEFORE_RUN
    while rows := claim(db, now=now, channels=["email"], limit=batch, lease=timedelta(minutes=5)):
        record_outcomes(db, [DeliveryOutcome(row, "sent") for row in rows], now)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    port, ready = free_port(), multiprocessing.Event()
    server = multiprocessing.Process(target=sink, args=(port, ready), daemon=True)
    server.start()
    ready.wait(10)
    n, conns = args.messages, args.connections
    report = Report("email", f"Email delivery: {n:,} messages, {conns} connections (issue 4)")
    try:
        messages: list[EmailMessage] = []
        bare = time_callable(lambda: asyncio.run(bare_loop(port, messages, conns)), args.runs,
                             label="bare aiosmtplib loop, send_message",
                             setup=lambda: messages.extend(standard_messages(n)))
        report.add(f"bare aiosmtplib loop, send_message ({n / bare.median:,.0f} msg/s)", bare)
        data: list[bytes] = []
        floor = time_callable(lambda: asyncio.run(bare_loop(port, data, conns)), args.runs,
                              label="sendmail of ready bytes", setup=lambda: data.extend(ready_bytes(n)))
        report.add(f"SMTP alone: the same sessions sending ready bytes ({n / floor.median:,.0f} msg/s)", floor)
        for backend in args.backends.split(","):
            outbox = FreshOutbox(backend, n)
            ours = time_callable(functools.partial(deliver, outbox, port, conns), args.runs,
                                 label="dispatcher", setup=outbox)
            report.add(f"dispatcher from a {backend} outbox ({n / ours.median:,.0f} msg/s)", ours,
                       baseline=bare, max_ratio=MAX_TIME_RATIO)
            cost = time_callable(functools.partial(claim_and_record, outbox), args.runs,
                                 label="claim + record", setup=outbox)
            report.add(f"dispatcher overhead, claim + record of {n:,} rows, {backend} "
                       f"({cost.median * 1000 / n:.3f} ms per message)", cost,
                       limit_s=OVERHEAD_LIMIT_MS * n / 1000)
    finally:
        server.terminate()
    report.note("Throughput target: the dispatcher's time ≤ 1.25× the bare loop's (≥ 80 % of its "
                "messages per second). The dispatcher's time includes rendering and building each "
                "message, which the baseline does before its clock starts (its time includes the "
                "flattening `send_message` does). The ready-bytes line shows what SMTP alone costs. "
                "Overhead target: < 2 ms per message, so the limit in seconds is 2 ms × the number of rows.")
    report.write()


if __name__ == "__main__":
    main()

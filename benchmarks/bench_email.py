"""Benchmark: email delivery through the dispatcher vs a bare aiosmtplib loop, same run.

    .venv/bin/python benchmarks/bench_email.py [--messages 10000] [--connections 4]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

An aiosmtpd sink runs in a process of its own on 127.0.0.1 (it only counts). First a bare
loop: `connections` aiosmtplib sessions sending pre-built messages. Then the dispatcher
from outbox rows in a fresh PostgreSQL database (render, build, send, record). Last, the
dispatcher's own cost per message: claim + record of every row with no sending at all.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiosmtplib  # noqa: E402

from config.settings import Settings  # noqa: E402
from kiemdiem.app import App  # noqa: E402
from kiemdiem.dispatching import dispatch  # noqa: E402
from notifiers.mime import build_mime  # noqa: E402
from notifiers.outbox import Outcome, claim, record  # noqa: E402
from notifiers.render import Renderer  # noqa: E402
from tests.conftest import drop_pg_database, new_pg_database  # noqa: E402
from tests.notify_fixtures import free_port  # noqa: E402
from tests.notify_helpers import add_rows, payload  # noqa: E402
from workflow.db import Database  # noqa: E402
from workflow.schema import upgrade  # noqa: E402

DUE = datetime(2020, 1, 1, tzinfo=UTC)


def sink(port: int, ready: multiprocessing.Event) -> None:
    """An SMTP server that accepts and forgets (runs in its own process)."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


async def bare_loop(port: int, count: int, connections: int) -> float:
    renderer = Renderer()
    messages = [build_mime(renderer.render(kind="reminder", channel="email",
                                           recipient=f"u{i}@example.vn", dedup_key=f"k{i}",
                                           payload=payload()), "kd@example.vn", DUE)
                for i in range(count)]
    start = time.perf_counter()

    async def worker() -> None:
        session = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await session.connect()
        while messages:
            await session.send_message(messages.pop())
        await session.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return count / (time.perf_counter() - start)


def through_dispatcher(url: str, port: int, count: int, connections: int) -> float:
    db = Database(url)
    add_rows(db, count, at=DUE)
    app = App(Settings(database_url=url, channels=("email",), smtp_port=port,
                       smtp_connections=connections, mail_from="kd@example.vn"))
    start = time.perf_counter()
    asyncio.run(dispatch(app))
    elapsed = time.perf_counter() - start
    app.close()
    db.dispose()
    return count / elapsed


def overhead_ms(url: str, count: int, batch: int = 200) -> float:
    db = Database(url)
    add_rows(db, count, at=DUE)
    now = DUE + timedelta(days=1)
    start = time.perf_counter()
    while rows := claim(db, now=now, channels=["email"], limit=batch,
                        lease=timedelta(minutes=5), max_attempts=8):
        record(db, [Outcome(row, "sent") for row in rows], now)
    elapsed = time.perf_counter() - start
    db.dispose()
    return elapsed * 1000 / count


def fresh_pg(admin: str) -> str:
    url = new_pg_database(admin)
    upgrade(Database(url))
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate bare loop and dispatcher this many times (a busy machine is noisy)")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    port, ready = free_port(), multiprocessing.Event()
    server = multiprocessing.Process(target=sink, args=(port, ready), daemon=True)
    server.start()
    ready.wait(10)
    urls = [fresh_pg(args.pg) for _ in range(args.rounds + 1)]
    ratios = []
    try:
        for n in range(args.rounds):
            bare = asyncio.run(bare_loop(port, args.messages, args.connections))
            ours = through_dispatcher(urls[n], port, args.messages, args.connections)
            ratios.append(ours / bare)
            print(f"round {n + 1}: bare aiosmtplib loop {bare:,.0f} msg/s, dispatcher (PostgreSQL "
                  f"outbox) {ours:,.0f} msg/s, {args.connections} connections: {ours / bare:.0%}")
        print(f"dispatcher / bare loop, median of {args.rounds}: {statistics.median(ratios):.0%}")
        cost = overhead_ms(urls[-1], args.messages)
        print(f"dispatcher overhead per message (claim + record, PostgreSQL): {cost:.3f} ms")
    finally:
        for url in urls:
            drop_pg_database(url)
        server.terminate()


if __name__ == "__main__":
    main()

"""Benchmark the secretary's link page under 50 concurrent clients, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.bench_links [--units 30000] [--clients 50] [--requests 2000]
                                               [--runs 3] [--backend sqlite --backend postgresql]
                                               [--workers N]

Loads a generated country (`benchmarks.datasets`, its own database `kiemdiem_bench_links`),
issues every unit's link, then serves the web application with uvicorn in a child process
(`--workers` processes, as `kiemdiem web --workers` runs it) and drives it from this one
over loopback with
`--clients` concurrent HTTP/1.1 connections (httpx, asyncio):

- GET `/r/<token>` of random cells;
- "Đã hoàn thành": each client GETs a cell's page (untimed, for the session cookie and the
  CSRF token), then POSTs its `reports_prepared` — every POST moves a different cycle
  through `CycleService` (guards, optimistic version, audit).

Server time is what the application spent on a request, from a `Server-Timing` header the
child's wrapper adds (queueing in the kernel and the client's own time excluded); the client
latency is given beside it. Targets (issue 13): p95 server time < 100 ms and ≥ 200 requests/s.
Each run's p95 and throughput are one sample of the table (median of the runs judged); the
throughput is shown as time per request (1/throughput, < 5 ms means ≥ 200 requests/s).
Results: the `links-<backend>` sections of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.datasets import BACKENDS, loaded_database
from benchmarks.harness import Report, Timing

BENCH_DB = "kiemdiem_bench_links"
KEY = "benchmark-links-secret-key-0123456789abcdef"
#: requests of each kind sent one at a time per run: the service time without queueing
SERIAL = 100
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def serve(url: str, port: int, workers: int) -> None:
    """The child: the web application behind uvicorn (`workers` processes, as
    `kiemdiem web --workers` runs them), timing each request's server time."""
    from config.settings import Settings
    from kiemdiem.app import App
    from kiemdiem.web import create_app
    from kiemdiem.web.secretary import AddressLimiter
    from kiemdiem.web.server import serve_asgi

    app = App(settings=Settings.from_env({}, database_url=url, secret_key=KEY))
    web = create_app(app)
    web.state.link_limiter = AddressLimiter(per_minute=10**9)  # one address drives everything

    async def timed(scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()

        async def send_timed(message: Any) -> None:
            if message["type"] == "http.response.start":
                spent = (time.perf_counter() - started) * 1000
                message["headers"] = [*message.get("headers", []),
                                      (b"server-timing", f"app;dur={spent:.2f}".encode())]
            await send(message)

        await web(scope, receive, send_timed)

    serve_asgi(timed, "127.0.0.1", port, workers, after_fork=lambda: app.db.engine.dispose(close=False))


@dataclass
class Phase:
    """What one run of one kind of request measured."""

    server_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, response: httpx.Response, client_ms: float) -> None:
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        timing = response.headers.get("server-timing", "app;dur=0").split("dur=")[1]
        self.server_ms.append(float(timing))
        self.client_ms.append(client_ms)

    @property
    def rps(self) -> float:
        return len(self.server_ms) / self.seconds

    @staticmethod
    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1]


async def _drive(base: str, clients: int, work: list[str], one: Callable[..., Awaitable[None]]) -> Phase:
    """Run `one(client, item, phase)` over `work` with `clients` concurrent connections."""
    phase = Phase()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            while not queue.empty():
                await one(client, queue.get_nowait(), phase)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    phase.seconds = time.perf_counter() - started
    return phase


async def _get(client: httpx.AsyncClient, token: str, phase: Phase) -> None:
    started = time.perf_counter()
    response = await client.get(f"/r/{token}")
    phase.add(response, (time.perf_counter() - started) * 1000)


async def _post(client: httpx.AsyncClient, token: str, phase: Phase) -> None:
    page = await client.get(f"/r/{token}")
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    today = re.search(r'id="date" name="date" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    started = time.perf_counter()
    response = await client.post(f"/r/{token}/xong", data={
        "csrf": csrf, "stage": "reports_prepared", "date": today, "note": "benchmark"})
    phase.add(response, (time.perf_counter() - started) * 1000)


def _tokens(url: str) -> list[str]:
    """Issue every unit's link; return the tokens of the cells (they owe `reports_prepared`)."""
    from sqlalchemy import select

    from config.settings import Settings
    from kiemdiem.app import App
    from workflow.lookup import get_campaign
    from workflow.models import Cycle, Unit

    app = App(settings=Settings.from_env({}, database_url=url, secret_key=KEY))
    with app.db.session(write=True) as session:
        campaign = get_campaign(session, None)
        tokens = app.links.tokens(session, campaign.id)
        cells = session.scalars(select(Unit.id).join(Cycle, Cycle.unit_id == Unit.id).where(
            Cycle.campaign_id == campaign.id, Unit.level == "cell", Cycle.state == "plan_issued"))
        chosen = [tokens[uid] for uid in cells]
    app.close()
    return chosen


def _processes(workers: int) -> str:
    return "one server process" if workers == 1 else f"{workers} server processes"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(base: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError("the web server did not start")
        try:
            httpx.get(base + "/healthz", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the web server did not answer within 60 s")


def bench(backend: str, units: int, clients: int, requests: int, runs: int, workers: int) -> None:
    url = loaded_database(backend, units, name=BENCH_DB)
    tokens = _tokens(url)
    random.seed(13)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.bench_links", "--serve", url, str(port),
                              str(workers)],
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
    report = Report(f"links-{backend}", f"Secretary's link page on {backend}: {units:,} units, "
                    f"{clients} concurrent clients, {_processes(workers)} (issue 13)", unit="ms")
    try:
        _wait(base, child)
        asyncio.run(_drive(base, clients, random.sample(tokens, min(200, len(tokens))), _get))  # warm up
        gets, posts, alone = [], [], []
        fresh = iter(random.sample(tokens, len(tokens)))
        for _ in range(runs):
            gets.append(asyncio.run(_drive(base, clients, random.choices(tokens, k=requests), _get)))
            batch = [next(fresh) for _ in range(requests)]
            posts.append(asyncio.run(_drive(base, clients, batch, _post)))
            alone.append((asyncio.run(_drive(base, 1, random.choices(tokens, k=SERIAL), _get)),
                          asyncio.run(_drive(base, 1, [next(fresh) for _ in range(SERIAL)], _post))))
    finally:
        child.terminate()
        child.wait(timeout=30)
    for name, phases, ok in (("GET /r/<token>", gets, 200), ("POST «Đã hoàn thành»", posts, 303)):
        bad = {s: n for p in phases for s, n in p.statuses.items() if s != ok}
        if bad:
            raise RuntimeError(f"{name}: unexpected answers {bad}")
        p95 = Timing(f"{name} p95", [Phase.p95(p.server_ms) / 1000 for p in phases])
        per_request = Timing(f"{name} 1/throughput", [1 / p.rps for p in phases])
        client = statistics.median(Phase.p95(p.client_ms) for p in phases)
        report.add(f"{name}: p95 server time", p95, limit_s=0.1,
                   note=f"client p95 {client:.0f} ms")
        report.add(f"{name}: time per request at {clients} clients", per_request, limit_s=0.005,
                   note=f"{statistics.median(p.rps for p in phases):.0f} requests/s")
        serial = [pair[0 if ok == 200 else 1] for pair in alone]
        report.add(f"{name}: p95 server time, one client at a time",
                   Timing(f"{name} serial p95", [Phase.p95(p.server_ms) / 1000 for p in serial]),
                   note=f"{statistics.median(p.rps for p in serial):.0f} requests/s")
    report.note(f"Each run: {requests:,} requests of each kind from {clients} concurrent httpx "
                f"clients in this process, against {_processes(workers)} (`kiemdiem web "
                f"--workers {workers}`) on loopback; server time from the application's own "
                "`Server-Timing` (the request in Starlette, its thread pool and the database). "
                "Each POST moves a different cell's cycle to `reports_prepared` through "
                "`CycleService` (guards, version, audit); its page GET (for the cookie and the "
                "CSRF token) is not counted. With 50 requests in flight the server time includes "
                "the wait for the thread pool and the cores (Little's law: 50 / throughput); the "
                "one-client lines are the service time alone. The load generator shares the 2 "
                "cores with the server and with the other sessions on this machine: the load "
                "average is in the line above. Peak RSS is not measured here (0).")
    report.write()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=30_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", action="append", choices=BACKENDS)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("KIEMDIEM_WEB_WORKERS", "1")),
                        help="Server processes (`kiemdiem web --workers`, KIEMDIEM_WEB_WORKERS).")
    parser.add_argument("--serve", nargs=3, metavar=("URL", "PORT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return
    for backend in args.backend or BACKENDS:
        bench(backend, args.units, args.clients, args.requests, args.runs, args.workers)


if __name__ == "__main__":
    main()

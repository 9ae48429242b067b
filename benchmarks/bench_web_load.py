"""Many officers at once: 200 concurrent `GET /` against a real `kiemdiem web` on loopback.

    .venv/bin/python -m benchmarks.bench_web_load [--db URL] [--concurrency 200] [--rounds 5] [--workers N]

Runs `kiemdiem web --workers N` (default `KIEMDIEM_WEB_WORKERS`, else 1) as its own process
on the database `bench_web` builds (300,440 cycles;
`python -m benchmarks.bench_web` first), logs in as the national root's user, warms the
page once, then sends `--rounds` waves of `--concurrency` simultaneous `GET /` from one
asyncio client (one connection each) and reports the latency percentiles of every request
as the client saw it. Target (issue 17): p99 under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import time

import httpx

from benchmarks.bench_web import NOW, PASSWORD

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/kiemdiem_bench_web"


async def _wave(base: str, cookies: httpx.Cookies, concurrency: int) -> list[float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits, timeout=120) as client:
        async def one() -> float:
            started = time.perf_counter()
            response = await client.get("/")
            assert response.status_code == 200, response.status_code
            return time.perf_counter() - started

        return list(await asyncio.gather(*(one() for _ in range(concurrency))))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--user", default="tw")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("KIEMDIEM_WEB_WORKERS", "1")))
    args = parser.parse_args()
    port = _free_port()
    env = {**os.environ, "KIEMDIEM_SECRET_KEY": "bench-web-load-" + "k" * 32}
    server = subprocess.Popen([sys.executable, "-m", "kiemdiem", "--db", args.db, "--now", NOW.isoformat(),
                               "web", "--port", str(port), "--workers", str(args.workers)],
                              env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=60) as c:
            found = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
            assert found, "the login page has no CSRF token"
            token = found.group(1)
            assert c.post("/login", data={"name": args.user, "password": PASSWORD,
                                          "csrf": token}).status_code == 303
            assert c.get("/").status_code == 200  # the first view fills the cache
            cookies = c.cookies
        latencies: list[float] = []
        started = time.perf_counter()
        for _ in range(args.rounds):
            latencies += asyncio.run(_wave(base, cookies, args.concurrency))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(30)
    load = os.getloadavg()
    print(f"{len(latencies)} requests in {args.rounds} waves of {args.concurrency}, {args.workers} worker(s): "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {_percentile(latencies, 0.99) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms, {len(latencies) / elapsed:.0f} requests/s; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()

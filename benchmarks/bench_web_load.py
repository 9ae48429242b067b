"""Many officers at once: 200 concurrent `GET /` against a real `kiemdiem web` on loopback.

    .venv/bin/python -m benchmarks.bench_web_load [--db URL] [--concurrency 200] [--rounds 5] [--workers N]

Runs `kiemdiem web --workers N` (default `KIEMDIEM_WEB_WORKERS`, else 1) as its own process
on the database `bench_web` builds (300,440 cycles; `python -m benchmarks.bench_web`
first), logs in as the national root's user, warms the page with one untimed round (every
worker process fills its cache), then sends `--rounds` × `--concurrency` `GET /` over
`--concurrency` connections at once, each sending its next as soon as its last is
answered, from `wrk` when installed (C), else from httpx clients in this process
(`benchmarks.loadgen`), and reports the latency percentiles as the client saw them.
Target (issue 17): p99 under 2 s.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time

import httpx

from benchmarks.bench_web import NOW, PASSWORD
from benchmarks.loadgen import GENERATOR, Prepared, drive
from kiemdiem.web.server import SESSION_COOKIE

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/kiemdiem_bench_web"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
            cookie = f"{SESSION_COOKIE}={c.cookies[SESSION_COOKIE]}"
        view = Prepared("GET", "/", cookie)
        drive(base, args.concurrency, [view] * args.concurrency)  # untimed: fills every worker's cache
        phase = drive(base, args.concurrency, [view] * (args.rounds * args.concurrency))
    finally:
        server.terminate()
        server.wait(30)
    if set(phase.statuses) != {200}:
        raise RuntimeError(f"unexpected answers {phase.statuses}")
    load = os.getloadavg()
    print(f"{len(phase.server_ms)} requests over {args.concurrency} connections ({GENERATOR}), "
          f"{args.workers} worker(s): p50 {phase.client_percentile(0.5):.0f} ms, "
          f"p99 {phase.client_percentile(0.99):.0f} ms, max {phase.client_percentile(1.0):.0f} ms, "
          f"{phase.rps:.0f} requests/s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()

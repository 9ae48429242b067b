"""A burst of logins must not be turned against the database or the limit (issue 17).

On SQLite, wrong passwords checked inside a write transaction once made a concurrent
`advance` fail and `/healthz` take 36 s; on PostgreSQL, 40 concurrent tries were all
checked although the limit was 5. Real threads, a real server on loopback.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kiemdiem.web import WebServer, throttle
from tests.notify_fixtures import free_port
from tests.webdata import NOW, build, local
from workflow.clock import fixed_clock
from workflow.service import CycleService

BURST = 40


def _wrong_login(base: str, name: str) -> int:
    with httpx.Client(base_url=base, timeout=60) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
        return c.post("/login", data={"name": name, "password": "sai-mat-khau",
                                      "csrf": token}).status_code


def test_a_login_burst_on_sqlite_leaves_advance_and_healthz_working(tmp_path):
    from workflow.db import Database
    from workflow.schema import upgrade

    db = Database(f"sqlite:///{tmp_path}/burst.db")
    upgrade(db)
    web = WebServer(build(db), "127.0.0.1", free_port()).start()
    base = f"http://127.0.0.1:{web.server.config.port}"
    try:
        with ThreadPoolExecutor(BURST) as pool:
            burst = [pool.submit(_wrong_login, base, f"khach-{i}") for i in range(BURST)]
            time.sleep(0.5)  # the burst is under way
            started = time.monotonic()
            CycleService(db, fixed_clock(local(21, 11, 10))).advance(
                "GL-PC-CH-T2", to="reports_prepared", actor="văn phòng")
            advance_s = time.monotonic() - started
            health = []
            for _ in range(4):  # the checks are still going on: one at a time, ~0.1 s each
                started = time.monotonic()
                status = httpx.get(base + "/healthz", timeout=60).status_code
                health.append((status, time.monotonic() - started))
            pending = sum(not f.done() for f in burst)
            statuses = Counter(f.result() for f in burst)
    finally:
        web.stop()
        db.dispose()
    assert statuses == {401: BURST}  # every one answered, none failed with a 500
    assert advance_s < 3, f"advance waited {advance_s:.1f} s behind the logins"
    assert pending > 0, "the burst was over before /healthz was asked: nothing was measured"
    # was 36 s; a loaded 2-core machine answers in ~0.5 s, with one slower first connection
    assert all(status == 200 and took < 5 for status, took in health), health


def test_concurrent_tries_of_one_name_and_address_are_counted_exactly(db):
    build(db)
    barrier = threading.Barrier(BURST)

    def attempt(_: int) -> throttle.Verdict:
        barrier.wait()
        return throttle.reserve(db, "phucat", "198.51.100.7", NOW)

    with ThreadPoolExecutor(BURST) as pool:
        verdicts = list(pool.map(attempt, range(BURST)))
    allowed = sum(v.allowed for v in verdicts)
    assert allowed == throttle.FREE_FAILURES + 1  # the free tries and the one that starts the wait
    assert all(v.retry_after >= 1 for v in verdicts if not v.allowed)


@pytest.mark.parametrize("extra", [10])
def test_concurrent_tries_from_everywhere_cross_the_name_ceiling_exactly_once(db, extra):
    build(db)
    total = throttle.NAME_CEILING + extra
    barrier = threading.Barrier(total)

    def attempt(i: int) -> throttle.Verdict:
        barrier.wait()
        return throttle.reserve(db, "tinh", f"10.2.0.{i}", NOW)

    with ThreadPoolExecutor(total) as pool:
        verdicts = list(pool.map(attempt, range(total)))
    assert all(v.allowed for v in verdicts)
    assert sum(v.slow for v in verdicts) == extra

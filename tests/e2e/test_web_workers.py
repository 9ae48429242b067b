"""`kiemdiem web --workers 2` (`KIEMDIEM_WEB_WORKERS`): two processes serve one socket.

Sessions live in the database, so a login made through one worker opens the pages of the
other; SIGTERM stops every process; a worker that dies on its own takes the rest down with
an error, for the service manager to restart the lot.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.notify_fixtures import free_port
from tests.webdata import NOW, PASSWORD, SECRET_KEY, build


def _start(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KIEMDIEM_SECRET_KEY": SECRET_KEY, "KIEMDIEM_WEB_WORKERS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "kiemdiem", "--db", url, "--now", NOW.isoformat(),
                             "web", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if len(_children(proc.pid)) == 2:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the workers did not start")


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists() or " Z " in Path(f"/proc/{pid}/stat").read_text()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the workers from /proc")
def test_two_workers_share_the_socket_and_the_sessions_and_stop_together(db):
    build(db)
    port = free_port()
    proc = _start(db.url, port)
    try:
        workers = _children(proc.pid)
        statuses = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
            assert c.post("/login", data={"name": "tinh", "password": PASSWORD,
                                          "csrf": token}).status_code == 303
            for _ in range(20):  # a new connection each time: either worker may take it
                statuses.append(httpx.get(f"http://127.0.0.1:{port}/", cookies=c.cookies,
                                          timeout=30).status_code)
        assert statuses == [200] * 20
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert all(_gone(w) for w in workers)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the workers from /proc")
def test_a_worker_that_dies_stops_the_others_with_an_error(db):
    build(db)
    port = free_port()
    proc = _start(db.url, port)
    try:
        first, second = _children(proc.pid)
        os.kill(first, signal.SIGKILL)
        assert proc.wait(30) != 0
        assert _gone(second)
        assert "tiến trình phục vụ web đã tự dừng" in (proc.stderr.read() if proc.stderr else b"").decode()
    finally:
        if proc.poll() is None:
            proc.kill()

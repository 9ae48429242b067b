"""`serve`'s stdout is one JSON object per line, whatever logs: APScheduler, uvicorn, a crash.

A page that fails (its table dropped under the running server) answers a Vietnamese 500
with the security headers, and its traceback arrives as one field of one JSON line.
"""

from __future__ import annotations

import re

import httpx
from sqlalchemy import text

from kiemdiem.web.guards import SECURITY_HEADERS
from tests.notify_fixtures import free_port
from tests.processes import Serve
from tests.webdata import NOW, PASSWORD, SECRET_KEY, build


def test_every_stdout_line_of_serve_is_json_and_a_crash_is_one_line(db, tmp_path):
    build(db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"KIEMDIEM_SECRET_KEY": SECRET_KEY}
    with Serve(db.url, tmp_path / "outbox", now=NOW, env=env, args=("--port", str(port))) as serve:
        serve.wait_for("web")
        serve.wait_for("leader")
        with httpx.Client(base_url=base, timeout=30) as c:
            token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
            assert c.post("/login", data={"name": "tinh", "password": PASSWORD,
                                          "csrf": token}).status_code == 303
            assert c.get("/late?min_days=999999999").status_code == 400
            with db.session(write=True) as session:
                session.execute(text("DROP TABLE web_sessions"))
            crashed = c.get("/")
        serve.proc.terminate()
        assert serve.wait() == 0
    assert crashed.status_code == 500 and "Máy chủ gặp lỗi" in crashed.text
    assert all(crashed.headers.get(k) == v for k, v in SECURITY_HEADERS.items())
    events = serve.events
    # `Serve` parses each stdout line as JSON: a plain-text line would have stopped its reader
    assert events[-1]["event"] == "stopped"
    assert all(isinstance(e, dict) and {"ts", "level", "logger", "event"} <= e.keys() for e in events)
    assert {e["logger"] for e in events if e["event"] in ("start", "leader", "sweep")} == {"kiemdiem.events"}
    crashes = [e for e in events if e.get("traceback")]
    assert len(crashes) == 1 and "web_sessions" in crashes[0]["traceback"]
    assert crashes[0]["logger"].startswith("uvicorn")
    assert any(e.get("logger", "").startswith("apscheduler") for e in events)
    assert "Traceback" not in serve.stderr


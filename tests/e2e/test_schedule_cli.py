"""`remind`, `simulate` and `serve` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import drop_pg_database, new_pg_database
from tests.helpers import run, run_json, seeded
from tests.notify_fixtures import free_port
from workflow.models import Notification

ROOT = Path(__file__).parents[2]
COLUMNS = ["at", "kind", "unit", "stage", "recipient", "channel"]


def _outbox_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Notification))


def test_remind_dry_run_writes_nothing_and_remind_writes_once(db):
    seeded(db.url)
    preview = run_json(db.url, "remind", "--dry-run", now="2026-11-13T08:00")
    assert preview and list(preview[0]) == COLUMNS and _outbox_count(db) == 0
    written = run_json(db.url, "remind", now="2026-11-13T08:00")
    assert written == preview and _outbox_count(db) == len(written)
    assert run_json(db.url, "remind", now="2026-11-13T09:00") == []
    table = run(db.url, "remind", "--dry-run", now="2026-11-13T09:00")
    assert table.exit_code == 0 and "Sẽ ghi 0 thông báo" in table.stdout


def test_simulate_previews_the_season_and_leaves_the_database_alone(db):
    seeded(db.url)
    rows = run_json(db.url, "simulate", "--from", "2026-11-01", "--to", "2027-01-31")
    assert _outbox_count(db) == 0
    assert list(rows[0]) == COLUMNS
    first = rows[0]
    assert first["at"] == "2026-11-03T07:00:00+07:00"  # 7 days before 10/11, after quiet hours
    assert (first["kind"], first["stage"]) == ("reminder", "reports_prepared")
    keys = [(r["kind"], r["unit"], r["stage"], r["recipient"], r["channel"], r["at"]) for r in rows]
    assert len(keys) == len(set(keys))
    kinds = {r["kind"] for r in rows}
    assert kinds == {"reminder", "late", "repeat", "escalation"}
    province = [r for r in rows if r["unit"] == "GL" and r["kind"] == "late"]
    assert [r["at"] for r in province] == ["2027-01-20T07:00:00+07:00"]


def test_simulate_refuses_a_backwards_range(db):
    seeded(db.url)
    result = run(db.url, "simulate", "--from", "2027-01-31", "--to", "2026-11-01")
    assert result.exit_code == 2 and "before" in result.stderr


def _start_serve(url: str, outbox: Path) -> subprocess.Popen[str]:
    """Start a real `serve` (scheduler, dispatcher into `outbox`, monitor on a free port)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KIEMDIEM_OUTBOX_DIR": str(outbox)}
    return subprocess.Popen(
        [sys.executable, "-m", "kiemdiem", "--db", url, "serve", "--lock-retry-seconds", "0.5",
         "--catch-up-seconds", "2", "--port", str(free_port())],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(proc: subprocess.Popen[str], event: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()}")
            continue
        record = json.loads(line)
        if record["event"] == event:
            return record
    raise AssertionError(f"no '{event}' within {timeout} s")


@pytest.fixture
def pg_url(pg_server):
    """A fresh PostgreSQL database (the hand-over needs it; SQLite is tested below)."""
    url = new_pg_database(pg_server)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.mark.slow
def test_a_second_serve_takes_over_when_the_leader_is_killed(pg_url, tmp_path):
    seeded(pg_url)
    first = _start_serve(pg_url, tmp_path / "outbox")
    second = None
    try:
        assert _wait_for(first, "start", 20)["db"] == "postgresql"
        _wait_for(first, "leader", 20)
        assert _wait_for(first, "sweep", 20)["scanned"] == 17
        second = _start_serve(pg_url, tmp_path / "outbox")
        _wait_for(second, "waiting_for_leadership", 20)
        first.kill()  # kill -9: no clean-up, PostgreSQL drops the session and its lock
        first.wait()
        started = time.monotonic()
        _wait_for(second, "leader", 60)
        assert time.monotonic() - started < 60
        assert _wait_for(second, "sweep", 20)["written"] == 0  # the first one wrote it all
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
        assert '"event": "stopped"' in second.stdout.read()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_a_second_serve_on_sqlite_refuses_to_run_the_scheduler(tmp_path):
    url = f"sqlite:///{tmp_path / 'kiemdiem.db'}"
    seeded(url)
    first = _start_serve(url, tmp_path / "outbox")
    try:
        _wait_for(first, "leader", 20)
        second = _start_serve(url, tmp_path / "outbox")
        assert second.wait(20) == 1
        assert "SQLite allows one" in second.stderr.read()
        first.send_signal(signal.SIGINT)
        first.send_signal(signal.SIGTERM)  # a second signal while stopping must not hang it
        assert first.wait(20) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

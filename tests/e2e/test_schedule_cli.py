"""`remind`, `simulate` and `serve` from the command line."""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import func, select

from tests.helpers import run, run_json, seeded
from tests.processes import Serve
from workflow.models import Notification

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
    assert result.exit_code == 2 and "sớm hơn --from" in result.stderr


@pytest.mark.slow
def test_a_second_serve_takes_over_when_the_leader_is_killed(pg_url, tmp_path):
    seeded(pg_url)
    first = Serve(pg_url, tmp_path / "outbox")
    second = None
    try:
        assert first.wait_for("start", 20)["db"] == "postgresql"
        first.wait_for("leader", 20)
        assert first.wait_for("sweep", 20)["scanned"] == 17
        second = Serve(pg_url, tmp_path / "outbox")
        second.wait_for("waiting_for_leadership", 20)
        first.kill()  # kill -9: no clean-up, PostgreSQL drops the session and its lock
        started = time.monotonic()
        second.wait_for("leader", 60)
        assert time.monotonic() - started < 60
        assert second.wait_for("sweep", 20)["written"] == 0  # the first one wrote it all
        second.proc.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
        second.wait_for("stopped", 1)
    finally:
        for serve in (first, second):
            if serve is not None:
                serve.kill()


@pytest.mark.slow
def test_a_second_serve_on_sqlite_refuses_to_run_the_scheduler(tmp_path):
    url = f"sqlite:///{tmp_path / 'kiemdiem.db'}"
    seeded(url)
    first = Serve(url, tmp_path / "outbox")
    try:
        first.wait_for("leader", 20)
        second = Serve(url, tmp_path / "outbox")
        assert second.wait(20) == 1
        assert "SQLite chỉ cho một" in second.stderr
        first.proc.send_signal(signal.SIGINT)
        first.proc.send_signal(signal.SIGTERM)  # a second signal while stopping must not hang it
        assert first.wait(20) == 0
    finally:
        first.kill()

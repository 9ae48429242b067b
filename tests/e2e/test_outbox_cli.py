"""`kiemdiem outbox`, `outbox retry` and `dispatch --once` through the CLI (a loopback SMTP server)."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from sqlalchemy import update

from notifiers.health import STALE_AFTER
from tests import notify_fixtures
from tests.helpers import run, run_json
from tests.notify_helpers import T0, add_rows
from tests.processes import smtp_env
from workflow.models import ChannelHealth, Notification

NOW = T0.isoformat()
smtp = notify_fixtures.smtp  # the loopback SMTP server fixture


def test_dispatch_once_writes_files_and_outbox_lists_them(db, tmp_path, monkeypatch):
    monkeypatch.setenv("KIEMDIEM_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("KIEMDIEM_CHANNELS", "file")
    add_rows(db, 3, channel="file")
    result = run(db.url, "dispatch", "--once", now=NOW)
    assert result.exit_code == 0, result.stderr
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 3
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"].startswith("[Nhắc việc] Chi bộ số")
    rows = run_json(db.url, "outbox", "--status", "sent", now=NOW)
    assert len(rows) == 3
    assert list(rows[0]) == ["id", "kind", "unit", "stage", "channel", "recipient", "status",
                             "attempts", "dedup_key", "last_error", "sent_at", "reference", "duration_ms",
                             "channel_state"]
    assert rows[0]["status"] == "sent" and rows[0]["attempts"] == 1 and rows[0]["channel_state"] == "up"
    # the file channel's reference is the file it wrote; each attempt's duration is kept
    assert sorted(row["reference"] for row in rows) == [str(f) for f in files]
    assert all(row["duration_ms"] >= 0 and row["sent_at"] for row in rows)
    assert run_json(db.url, "outbox", "--status", "failed", now=NOW) == []


def test_retry_requeues_failed_rows(db):
    add_rows(db, 2)
    with db.session(write=True) as s:
        s.execute(update(Notification).values(status="failed", last_error="550 no such user"))
    listed = run(db.url, "outbox", now=NOW)
    assert listed.exit_code == 0 and "550 no such user" in listed.stdout
    first = run_json(db.url, "outbox", now=NOW)[0]["id"]
    assert run(db.url, "outbox", "retry", str(first), now=NOW).exit_code == 0
    assert [r["status"] for r in run_json(db.url, "outbox", now=NOW)] == ["pending", "failed"]
    again = run(db.url, "outbox", "retry", str(first), now=NOW)
    assert again.exit_code == 2 and "không ở trạng thái lỗi/bỏ cuộc" in again.stderr
    assert run(db.url, "outbox", "retry", now=NOW).exit_code == 2
    assert run(db.url, "outbox", "retry", "--all-failed", now=NOW).exit_code == 0
    assert {r["status"] for r in run_json(db.url, "outbox", now=NOW)} == {"pending"}


def test_incomplete_channel_settings_are_refused_clearly(db, monkeypatch):
    monkeypatch.setenv("KIEMDIEM_CHANNELS", "webhook")
    monkeypatch.delenv("KIEMDIEM_WEBHOOK_URL", raising=False)
    result = run(db.url, "dispatch", "--once", now=NOW)
    assert result.exit_code == 2 and "KIEMDIEM_WEBHOOK_URL" in result.stderr


def test_outbox_says_which_channel_a_running_instance_cannot_reach(db):
    add_rows(db, 1)
    add_rows(db, 1, channel="webhook")
    with db.session(write=True) as s:
        s.add(ChannelHealth(instance="may-1:42", channel="email", down_since=T0, updated_at=T0,
                            error="SMTP connection failed: refused", next_probe_at=T0))
    rows = run_json(db.url, "outbox", now=NOW)
    assert [(r["channel"], r["channel_state"]) for r in rows] == [("email", "down"), ("webhook", "up")]
    listed = run(db.url, "outbox", now=NOW)
    assert listed.exit_code == 0
    assert ("Kênh email không kết nối được từ 13/11/2026 01:00 UTC (1 tiến trình): "
            "SMTP connection failed: refused") in listed.stderr
    # an instance silent for longer than STALE_AFTER died: its verdict no longer counts
    later = (T0 + STALE_AFTER + timedelta(minutes=1)).isoformat()
    assert {r["channel_state"] for r in run_json(db.url, "outbox", now=later)} == {"up"}


@pytest.mark.parametrize("lang, total", [
    ("vi", "Đã gửi 1, lỗi sẽ gửi lại 1, lỗi không gửi lại 1, bỏ cuộc 1; còn 3 trong hàng đợi."),
    ("en", "Delivered 1, failed and retried later 1, failed for good 1, given up 1; 3 left in the queue."),
])
def test_dispatch_once_says_per_channel_what_it_did_and_what_is_left(db, smtp, monkeypatch, lang, total):
    for name, value in smtp_env(smtp.port).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KIEMDIEM_LANG", lang)
    smtp.recorder.refuse = {"u1@example.vn": "550 5.1.1 no such user", "u2@example.vn": "451 4.3.0 try later"}
    add_rows(db, 3, channel="email")  # u0 delivered, u1 refused for good, u2 retried later
    add_rows(db, 1, channel="email", kind="late", at=T0 - timedelta(days=4), recipient="old@example.vn")  # too old
    add_rows(db, 2, channel="webhook")  # not enabled here: left waiting
    result = run(db.url, "dispatch", "--once", now=NOW)
    assert result.exit_code == 0, result.output
    rows = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "│ email │ 1 │ 1 │ 1 │ 1 │ 1 │" in rows and "│ webhook │ 0 │ 0 │ 0 │ 0 │ 2 │" in rows
    assert rows[-1] == total
    assert smtp.recorder.count() == 1
    statuses = sorted(r["status"] for r in run_json(db.url, "outbox", now=NOW))
    assert statuses == ["dead", "failed", "pending", "pending", "pending", "sent"]

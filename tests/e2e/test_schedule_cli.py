"""`remind`, `simulate` and `serve` from the command line."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.helpers import SAMPLE_PLAN, run, run_json, seeded
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


SEASON = ("simulate", "--from", "2026-11-01", "--to", "2027-01-31")


def test_simulate_previews_the_season_and_leaves_the_database_alone(db):
    seeded(db.url)
    rows = run_json(db.url, *SEASON)
    assert _outbox_count(db) == 0
    assert list(rows[0]) == COLUMNS
    first = rows[0]
    assert first["at"] == "2026-11-03T07:00:00+07:00"  # 7 days before 10/11, after quiet hours
    assert (first["kind"], first["stage"]) == ("reminder", "reports_prepared")
    keys = [(r["kind"], r["unit"], r["stage"], r["recipient"], r["channel"], r["at"]) for r in rows]
    assert len(keys) == len(set(keys))
    kinds = {r["kind"] for r in rows}
    assert kinds == {"reminder", "late", "repeat", "escalation", "digest"}
    province = [r for r in rows if r["unit"] == "GL" and r["kind"] == "late"]
    assert [r["at"] for r in province] == ["2027-01-20T07:00:00+07:00"]
    digests = [r for r in rows if r["kind"] == "digest"]
    assert {r["recipient"] for r in digests} == {"bantochuc@tinhuy.example.vn"}
    assert len({r["at"][:10] for r in digests}) == len(digests)  # one a day, at 07:30
    assert {r["at"][10:] for r in digests} == {"T07:30:00+07:00"}


def test_the_summary_counts_what_the_stream_lists(db):
    """--jsonl streams one JSON object a line; --summary --json counts the same rows, per day,
    kind, level and unit; --unit lists one unit's own season; nothing is left written."""
    seeded(db.url)
    streamed = run(db.url, *SEASON, "--jsonl")
    assert streamed.exit_code == 0, streamed.stderr
    rows = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert rows and all(list(r) == COLUMNS for r in rows)
    assert rows == run_json(db.url, *SEASON)
    summary = run_json(db.url, *SEASON, "--summary")
    assert _outbox_count(db) == 0
    totals = summary["totals"]
    assert totals["messages"] == len(rows)
    assert totals["by_kind"] == dict(Counter(r["kind"] for r in rows))
    assert totals["digests"] == totals["by_kind"]["digest"]
    assert totals["escalations"] == totals["by_kind"]["escalation"]
    assert sum(totals["by_level"].values()) == len(rows) - totals["digests"]
    per_day = Counter(r["at"][:10] for r in rows)
    assert {d["day"]: d["messages"] for d in summary["days"]} == per_day
    day, most = per_day.most_common(1)[0]
    assert summary["busiest_day"]["messages"] == most
    per_unit = Counter((r["unit"], r["channel"]) for r in rows if r["kind"] != "digest")
    (unit, channel), received = per_unit.most_common(1)[0]
    top = summary["most_messaged_unit"]
    assert (top["messages"], top["channel"]) == (received, channel)
    assert per_unit[(top["unit"], top["channel"])] == received

    listed = run(db.url, *SEASON, "--unit", top["unit"], "--jsonl")
    own = [json.loads(line) for line in listed.stdout.splitlines()]
    assert own == [r for r in rows if r["unit"] == top["unit"] and r["kind"] != "digest"]
    assert len(own) == received
    table = run(db.url, *SEASON, "--unit", top["unit"])
    assert table.exit_code == 0 and f"{received} thông báo cho {top['unit']}" in table.stdout


def test_the_summary_judges_the_repeat_policy(db, tmp_path):
    """Repeating every second day while a unit stays late, for three months, is too much for
    one unit (the shipped sample plan, nobody acting); a bounded policy is not."""
    seeded(db.url)
    summary = run_json(db.url, *SEASON, "--summary")
    assert summary["most_messaged_unit"]["messages"] > summary["max_messages_per_unit"]
    [warning] = summary["warnings"]
    assert warning["setting"] == "max_repeats"
    for setting in ("`max_repeats`", "`repeat_every_days`", "`backoff`"):
        assert setting in warning["message"]
    table = run(db.url, *SEASON, "--summary")
    assert table.exit_code == 0
    for words in ("Cả mùa", "Ngày nhiều tin nhất", "Một đơn vị nhận nhiều nhất", "Cảnh báo: Đơn vị"):
        assert words in table.stdout

    bounded = tmp_path / "plan.yaml"
    bounded.write_text(SAMPLE_PLAN.read_text(encoding="utf-8").replace(
        "  repeat_every_days: 2\n", "  repeat_every_days: 2\n  backoff: 2\n  max_repeats: 3\n"), encoding="utf-8")
    result = run(db.url, "campaign", "update", "2026", "--plan", str(bounded))
    assert result.exit_code == 0, result.stderr
    summary = run_json(db.url, *SEASON, "--summary")
    assert summary["warnings"] == []
    assert summary["most_messaged_unit"]["messages"] <= summary["max_messages_per_unit"]
    assert "nằm trong ngưỡng" in run(db.url, *SEASON, "--summary").stdout


@pytest.mark.parametrize(("args", "said"), [
    (("--from", "2027-01-31", "--to", "2026-11-01"), "--to 01/11/2026 đứng trước --from 31/01/2027"),
    (("--from", "2026-13-01", "--to", "2027-01-31"), "--from '2026-13-01' không phải một ngày"),
    (("--from", "1/11/2026", "--to", "2027-01-31"), "hãy viết YYYY-MM-DD"),
    (("--from", "2026-11-01", "--to", "2027-01-31", "--unit", "KHONG-CO"), "không có đơn vị nào mã 'KHONG-CO'"),
    (("--from", "2026-11-01", "--to", "2027-01-31", "--json", "--jsonl"), "chọn một trong --json"),
    (("--from", "2026-11-01", "--to", "2027-01-31", "--summary", "--jsonl"), "--summary không đi cùng"),
])
def test_simulate_says_what_is_wrong_in_vietnamese(db, args, said):
    seeded(db.url)
    result = run(db.url, "simulate", *args)
    assert result.exit_code == 2
    assert said in result.stderr and "Traceback" not in result.stderr


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

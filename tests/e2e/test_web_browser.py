"""The monitor in a real browser: Debian's Chromium, headless, driven by Selenium.

The server runs in a thread on a free loopback port over the `db` fixture (SQLite and
PostgreSQL). One scenario per backend: log in, read the late count, open a late unit,
export the late list, find a unit of another district out of reach, log out. Screenshots
of the overview (desktop and phone widths) go to `test-output/`; the README's
`docs/monitor-overview.png` is written when missing or when KIEMDIEM_UPDATE_SCREENSHOT=1.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from kiemdiem.web import WebServer
from tests.webdata import PASSWORD, build

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).parents[2]
OUTPUT = Path(os.environ.get("KIEMDIEM_TEST_OUTPUT", ROOT / "test-output"))
DOC_SCREENSHOT = ROOT / "docs" / "monitor-overview.png"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1700", "--lang=vi"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium is missing: run scripts/ensure-browser (make test does).")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def server(db) -> Iterator[str]:
    web = WebServer(build(db), "127.0.0.1", _free_port()).start()
    try:
        yield f"http://127.0.0.1:{web.server.config.port}"
    finally:
        web.stop()


def _login(driver: webdriver.Chrome, base: str, name: str) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/")
    assert "/login" in driver.current_url  # sent to the login page first
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 15).until(lambda d: "/login" not in d.current_url)


def _logout(driver: webdriver.Chrome) -> None:
    driver.find_element(By.ID, "logout").click()
    WebDriverWait(driver, 15).until(EC.url_contains("/login"))


def _wait_for_file(folder: Path, suffix: str, timeout: float = 15.0) -> Path:
    """Wait for the browser to finish a download (polls the folder; no time logic involved)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done = list(folder.glob(f"*{suffix}"))
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} file was downloaded into {folder}")


def test_an_officer_follows_late_units_in_the_browser(browser, server, db, tmp_path):
    backend = db.dialect
    _login(browser, server, "tinh")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Tổng quan — Đảng bộ tỉnh Gia Lai"
    assert browser.find_element(By.ID, "late-units").text == "10"
    assert browser.find_element(By.CSS_SELECTOR, "svg.chart").is_displayed()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / f"monitor-overview-{backend}.png"
    browser.save_screenshot(str(shot))
    if backend == "sqlite" and (not DOC_SCREENSHOT.exists()
                                or os.environ.get("KIEMDIEM_UPDATE_SCREENSHOT") == "1"):
        shutil.copyfile(shot, DOC_SCREENSHOT)

    browser.set_window_size(390, 844)  # a phone: nothing wider than the screen but the tables
    browser.get(server + "/")
    assert browser.execute_script(
        "return document.body.scrollWidth <= window.innerWidth + 1") is True
    browser.save_screenshot(str(OUTPUT / f"monitor-overview-phone-{backend}.png"))
    browser.set_window_size(1280, 1700)

    browser.find_element(By.LINK_TEXT, "Đơn vị chậm").click()
    assert browser.find_element(By.ID, "late-count").text == "27"
    first = browser.find_element(By.CSS_SELECTOR, "#late-table tr:nth-child(2) td a")
    name = first.text
    first.click()
    WebDriverWait(browser, 15).until(EC.title_contains(name))
    assert browser.find_element(By.TAG_NAME, "h1").text == name
    assert "chưa xong, trễ" in browser.find_element(By.ID, "timeline").text

    browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.get(server + "/late?level=cell")
    browser.find_element(By.ID, "export-xlsx").click()
    sheet = load_workbook(io.BytesIO(_wait_for_file(tmp_path, ".xlsx").read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Mã đơn vị" and len(rows) == 1 + 27

    _logout(browser)
    browser.get(server + "/late")
    assert "/login" in browser.current_url  # the session is gone

    _login(browser, server, "phucat")
    assert browser.find_element(By.ID, "total-units").text == "5"
    browser.get(server + "/units/GL-TS-T1")  # Trà Sơn is not under Phù Cát
    assert browser.title.startswith("Lỗi 404")
    assert "phạm vi" in browser.find_element(By.CSS_SELECTOR, "p.error").text
    browser.get(server + "/units/GL-PC-CH-T1")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Chi bộ thôn Chánh Hữu"
    _logout(browser)


#: hostile but ordinary data: a unit name with no space to break at, a very long address
LONG_NAME = "Chi_bộ_Trường_Trung_học_phổ_thông_chuyên_Lê_Quý_Đôn_" * 3
LONG_EMAIL = "van.phong.dang.uy.truong.trung.hoc.pho.thong.chuyen.le.quy.don@" \
             "tinhuy-gialai-example-rat-dai.example.vn"
OVERFLOWING = """
const width = window.innerWidth, bad = [];
if (document.documentElement.scrollWidth > width + 1)
  bad.push('page ' + document.documentElement.scrollWidth);
for (const el of document.querySelectorAll('table, .card, tr.late-unit, pre, svg.chart, header')) {
  const box = el.getBoundingClientRect();
  if (box.right > width + 1 || el.scrollWidth > width + 1)
    bad.push(el.tagName + '#' + el.id + '.' + el.className.baseVal + el.className + ' right '
             + Math.round(box.right) + ' scrollWidth ' + el.scrollWidth);
}
return bad;
"""


@pytest.mark.parametrize("size", [(390, 844), (1366, 900)])
def test_no_table_or_card_is_wider_than_a_phone_or_a_laptop(browser, server, db, size):
    from sqlalchemy import update

    from workflow.models import Unit

    with db.session(write=True) as session:
        session.execute(update(Unit).where(Unit.code == "GL-PC-CH-T2").values(name=LONG_NAME, email=LONG_EMAIL))
        session.execute(update(Unit).where(Unit.code == "GL-PC").values(name=LONG_NAME.upper()))
    _login(browser, server, "tinh")
    browser.set_window_size(*size)
    width = browser.execute_script("return window.innerWidth")
    try:
        pages = ["/", "/late", "/late?sort=name_asc", "/units/GL", "/units/GL-PC", "/units/GL-PC-CH-T2",
                 "/plan", "/password"]
        for path in pages:
            browser.get(server + path)
            assert browser.execute_script(OVERFLOWING) == [], (path, width)
        browser.get(server + "/late")
        cards = browser.find_elements(By.CSS_SELECTOR, "tr.late-unit")
        assert len(cards) == 10
        if size[0] < 600:  # one card per unit: its cells stacked, the header row hidden
            assert not browser.find_element(By.CSS_SELECTOR, "#late-table thead").is_displayed()
            assert cards[0].find_element(By.CSS_SELECTOR, "td[data-label='Bí thư'] a.button").is_displayed()
        browser.save_screenshot(str(OUTPUT / f"monitor-late-{size[0]}-{db.dialect}.png"))
    finally:
        browser.set_window_size(1280, 1700)
        _logout(browser)

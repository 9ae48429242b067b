"""An officer acts from the monitor in a real browser (Debian's Chromium, headless): records a
stage done and extends a deadline from a unit's page, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.test_web_browser import _login, _logout, browser, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


def _set_date(driver: webdriver.Chrome, element_id: str, value: str) -> None:
    """Fill a date input whatever the browser's locale shows (its value is always ISO)."""
    driver.execute_script("document.getElementById(arguments[0]).value = arguments[1]", element_id, value)


def _submit(driver: webdriver.Chrome, button_id: str) -> str:
    """Submit a form and return the message of the page it leads to (not the previous one's)."""
    old = driver.find_element(By.TAG_NAME, "h1")
    driver.find_element(By.ID, button_id).click()
    # while the page is being replaced Chromium may answer for the old node with an inspector
    # error instead of "stale": ask again until it says stale
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(EC.staleness_of(old))
    flash = WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "flash")))
    return flash.text


def test_an_officer_records_progress_and_extends_a_deadline(browser, server):  # noqa: F811 - fixtures
    _login(browser, server, "traso")
    browser.get(server + "/late")
    row = browser.find_element(By.XPATH, "//table[@id='late-table']//tr[td//span[text()='GL-TS-T1']]")
    row.find_element(By.LINK_TEXT, "Chi bộ thôn 1").click()
    WebDriverWait(browser, 15).until(EC.title_contains("Chi bộ thôn 1"))

    Select(browser.find_element(By.ID, "record-stage")).select_by_value("cell_met")
    _set_date(browser, "record-date", "2026-11-15")
    browser.find_element(By.ID, "record-note").send_keys("Báo cáo giấy ngày 16/11")
    message = _submit(browser, "record-submit")
    assert message == ("Đã ghi nhận Chi bộ thôn 1 hoàn thành bước 'Họp chi bộ kiểm điểm, xếp loại' "
                       "ngày 15/11/2026.")
    assert browser.find_element(By.ID, "unit-state").text == "Họp chi bộ kiểm điểm, xếp loại"
    timeline = browser.find_element(By.ID, "timeline").text
    assert "15/11/2026 12:00" in timeline  # both stages reached on the day reported
    assert "traso" in browser.find_element(By.ID, "audit").text

    Select(browser.find_element(By.ID, "extend-stage")).select_by_value("forms_submitted")
    _set_date(browser, "extend-date", "2026-11-28")
    browser.find_element(By.ID, "extend-reason").send_keys("Bí thư nằm viện")
    assert _submit(browser, "extend-submit") == ("Đã gia hạn bước 'Gửi báo cáo, biểu mẫu lên cấp trên' "
                                                 "của Chi bộ thôn 1 đến 28/11/2026 00:00.")
    assert "gia hạn: Bí thư nằm viện" in browser.find_element(By.ID, "timeline").text

    Select(browser.find_element(By.ID, "extend-stage")).select_by_value("forms_submitted")
    _set_date(browser, "extend-date", "2026-12-10")
    browser.find_element(By.ID, "extend-reason").send_keys("Xin thêm")
    refused = _submit(browser, "extend-submit")
    assert "không được muộn hơn hạn gửi biểu mẫu của cấp trên GL-TS" in refused
    assert "error" in browser.find_element(By.ID, "flash").get_attribute("class")
    _logout(browser)

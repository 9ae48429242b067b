"""Across areas: the link a sweep puts in a reminder opens that unit's page in the monitor."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from schedules.sweep import sweep
from tests.integration.test_web_routes import logged_in
from tests.webdata import NOW, build
from workflow.models import Notification


def test_every_link_in_the_outbox_opens_its_units_page(db):
    app = build(db)
    with db.session(write=True) as session:
        sweep(session, NOW, ("file",), app.settings.public_url)
    with db.session() as session:
        rows = session.scalars(select(Notification)).all()
    swept = [row for row in rows if "link" in row.payload]  # the fixture adds one hand-made row
    assert all(row.payload["link"] for row in swept)
    links = {row.payload["unit_code"]: row.payload["link"] for row in swept}
    assert len(links) >= 5
    browser = logged_in(app, "tinh")  # the province's office sees every unit
    for code, link in links.items():
        url = urlsplit(link)
        assert f"{url.scheme}://{url.netloc}" == app.settings.public_url
        page = browser.get(url.path)
        assert page.status_code == 200 and code in page.text, code

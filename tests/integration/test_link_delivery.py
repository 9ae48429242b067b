"""Every delivered message carries its recipient unit's own link; the outbox keeps none."""

from __future__ import annotations

import asyncio
import csv
import json
import re
from dataclasses import replace
from email import message_from_bytes
from email.policy import default

from sqlalchemy import select

from kiemdiem.app import App
from kiemdiem.dispatching import dispatch
from schedules.sweep import sweep
from tests.helpers import SAMPLE_UNITS
from tests.linkdata import link_app, link_of
from tests.webdata import NOW
from workflow.models import Notification

TOKEN = re.compile(r"https?://[^/\s\"]+/r/[A-Za-z0-9_-]{43}")


def test_each_message_carries_the_recipient_units_link_and_the_office_the_monitor(db, tmp_path):
    app = link_app(db)
    app = App(settings=replace(app.settings, channels=("file",), outbox_dir=tmp_path / "outbox"),
              clock=app.clock)
    with db.session(write=True) as session:
        report = sweep(session, NOW, ("file",), app.settings.public_url)
    assert report.written["escalation"] > 0 and report.written["late"] > 0
    asyncio.run(dispatch(app))

    by_email = {row["email"]: row["code"] for row in csv.DictReader(SAMPLE_UNITS.open(encoding="utf-8"))
                if row["email"] and row["level"] != "province"}
    office = "bantochuc@tinhuy.example.vn"
    seen = set()
    for eml in (tmp_path / "outbox").glob("*.eml"):
        message = message_from_bytes(eml.read_bytes(), policy=default)
        recipient = str(message["To"])
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        links = set(TOKEN.findall(text)) | set(TOKEN.findall(html))
        if recipient == office:
            assert links == set() and app.settings.public_url in text  # the monitor, no unit's link
            continue
        code = by_email[recipient]
        assert links == {link_of(app, code)}, (recipient, message["Subject"])
        seen.add((code, "escalation" if "trực thuộc" in text else "unit"))
    assert ("GL-PC-CH", "escalation") in seen and ("GL-PC-CH-T2", "unit") in seen
    for document in (tmp_path / "outbox").glob("*.json"):  # units without an email address
        data = json.loads(document.read_text(encoding="utf-8"))
        assert data["data"]["link"] == link_of(app, data["data"]["unit_code"])
        assert data["data"]["link"] in data["zalo_text"]

    with db.session() as session:
        payloads = session.scalars(select(Notification.payload)).all()
    assert payloads and not any(TOKEN.search(json.dumps(p)) for p in payloads)

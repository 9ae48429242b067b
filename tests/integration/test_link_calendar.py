"""`/r/<token>/lich.ics`: the unit's owed deadlines as RFC 5545, following extensions."""

from __future__ import annotations

from datetime import date

from tests.linkdata import link_app, link_of, path_of, phone
from workflow.extensions import DeadlineService


def _events(body: str) -> list[dict[str, str]]:
    unfolded = body.replace("\r\n ", "")
    events, current = [], None
    for line in unfolded.split("\r\n"):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None and ":" in line and not line.startswith((" ", "BEGIN", "END")):
            name, value = line.split(":", 1)
            current.setdefault(name, value)
    return events


def test_the_feed_lists_each_owed_stage_and_follows_an_extension(db):
    app = link_app(db)
    path = path_of(link_of(app, "GL-PC-CH-T1")) + "/lich.ics"
    feed = phone(app).get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert feed.headers["referrer-policy"] == "no-referrer"
    body = feed.text
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "BEGIN:VTIMEZONE\r\nTZID:Asia/Ho_Chi_Minh\r\n" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    events = _events(body)
    # reports_prepared is done: cell_met (by 16/11) and forms_submitted (before 20/11) are owed
    assert [e["DTSTART;TZID=Asia/Ho_Chi_Minh"] for e in events] == ["20261116T080000", "20261119T080000"]
    assert "hoàn thành ngày 16/11/2026" in events[0]["SUMMARY"]
    uids = [e["UID"] for e in events]
    assert len(set(uids)) == 2 and not any(path.split("/")[2] in uid for uid in uids)

    DeadlineService(db, app.clock).extend("GL-PC-CH-T1", "forms_submitted", date(2026, 11, 25),
                                          reason="thôn bị lũ", actor="văn phòng")
    later = _events(phone(app).get(path).text)
    assert [e["UID"] for e in later] == uids  # the same events, moved in place
    assert later[1]["DTSTART;TZID=Asia/Ho_Chi_Minh"] == "20261124T080000"


def test_a_wrong_token_has_no_calendar(db):
    app = link_app(db)
    assert phone(app).get("/r/" + "B" * 43 + "/lich.ics").status_code == 404

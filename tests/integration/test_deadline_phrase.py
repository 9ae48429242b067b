"""One deadline, one wording: the cells' meeting, planned `by: 2026-11-16`, reads "hoàn thành
ngày 16/11/2026" in every message, listing, page and export, and never as the instant it
falls due ("17/11/2026 00:00", "trước ngày 17/11/2026"); JSON outputs carry that instant in
the campaign's zone (+07:00) with the rule and the plan's date beside it."""

from __future__ import annotations

import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from notifiers.digest import write_digests
from notifiers.render import Renderer
from schedules.sweep import sweep
from tests.helpers import run, run_json
from tests.integration.test_web_routes import logged_in
from tests.webdata import NOW, build
from workflow.clock import fixed_clock
from workflow.models import AuditEntry, Notification
from workflow.stages import LABEL

PHRASE = "hoàn thành ngày 16/11/2026"
WRONG = ("17/11/2026 00:00", "trước ngày 17/11/2026", "16/11/2026 17:00")
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def _said(text: str, where: str) -> None:
    assert PHRASE in text, where
    for wrong in WRONG:
        assert wrong not in text, f"{where}: {wrong}"


def test_every_place_says_a_deadline_as_the_plan_wrote_it(db):
    app = build(db)
    now = NOW.astimezone(HCM)  # 21/11 09:00: the cells' meeting is 4 days late
    with db.session(write=True) as s:
        sweep(s, now, ("email", "zalo_zns"), "https://kiemdiem.example.vn")
    with db.session(write=True) as s:  # the escalations of the next days
        sweep(s, datetime(2026, 11, 24, 9, tzinfo=HCM), ("email",), "https://kiemdiem.example.vn")
    write_digests(db, fixed_clock(now), ("email",), "https://kiemdiem.example.vn")
    renderer = Renderer(level_labels={"cell": "Chi bộ"}, stage_labels=LABEL)
    with db.session() as s:
        rows = list(s.scalars(select(Notification).where(Notification.payload.is_not(None))))
    seen = set()
    for row in rows:
        if row.dedup_key.startswith("2026:GL-PC-CH-T2:reports_prepared"):
            continue  # the web fixture's hand-made row
        message = renderer.render(kind=row.kind, channel=row.channel, recipient=row.recipient,
                                  dedup_key=row.dedup_key, payload=row.payload)
        if PHRASE in message.text:
            _said(message.text, row.dedup_key)
            _said(message.html, row.dedup_key)
            seen.add((row.kind, row.channel))
        for wrong in WRONG:
            assert wrong not in message.text + message.html + message.short, row.dedup_key
    assert {("late", "email"), ("escalation", "email"), ("digest", "email")} <= seen
    late = next(r for r in rows if r.kind == "late" and r.channel == "zalo_zns"
                and r.payload["stage"] == "cell_met")
    _said(renderer.render(kind="late", channel="zalo_zns", recipient=late.recipient,
                          dedup_key=late.dedup_key, payload=late.payload).short, "zalo")

    at = "2026-11-21T09:00"
    _said(run(db.url, "status", "GL-TS-THCS", now=at).stdout, "status")  # its next: the meeting
    _said(run(db.url, "overdue", now=at).stdout, "overdue")
    for listing in ("status", "overdue"):
        for row in run_json(db.url, listing, now=at):
            if row["deadline"] == "2026-11-17T00:00:00+07:00":
                assert (row["deadline_rule"], row["plan_date"]) == ("by", "2026-11-16"), listing
            assert row["deadline"] is None or row["deadline"].endswith("+07:00"), listing
            assert row["deadline"] is None or row["plan_date"], listing

    c = logged_in(app, "tinh")
    for path in ("/late", "/units/GL-PC-CH-T2", "/", "/plan"):
        _said(c.get(path).text, path)
    _said(c.get("/late.csv").content.decode("utf-8-sig"), "/late.csv")
    book = load_workbook(io.BytesIO(c.get("/late.xlsx").content), read_only=True)
    cells = [str(v) for row in book.active.iter_rows(values_only=True) for v in row if v is not None]
    _said("\n".join(cells), "/late.xlsx")


def test_json_instants_are_in_the_campaigns_zone(db):
    build(db)
    with db.session() as s:
        details = [e.details for e in s.scalars(select(AuditEntry).where(AuditEntry.action.in_(
            ("cycle.advance", "deadline.extend"))))]
    instants = [d[k] for d in details for k in ("reached_at", "from", "to") if d and d.get(k)]
    assert instants and all(v.endswith("+07:00") for v in instants)
    report = run(db.url, "report", "GL", "--format", "json", now="2027-01-25T09:00")
    assert report.exit_code == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["generated_at"].endswith("+07:00")
    assert data["late"] and all(row["deadline"].endswith("+07:00") for row in data["late"])

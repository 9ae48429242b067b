"""The set-based sweep on SQLite and PostgreSQL: what it writes, to whom, and never twice."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select, update

from schedules.sweep import sweep
from tests.conftest import migrated
from tests.helpers import run, seeded, submit_results
from workflow.models import Cycle, DeadlineExtension, Notice, Notification, Unit
from workflow.stages import RANK

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("file", "email", "zalo_zns", "zalo_oa", "webhook")
PAYLOAD_KEYS = {"year", "campaign_id", "unit_id", "unit_code", "unit_name", "level", "secretary",
                "day", "link", "kind", "repeat", "stage", "stage_label", "deadline", "deadline_rule",
                "plan_date", "deadline_text", "days_late", "days_left", "items"}
ITEM_KEYS = {"stage", "stage_label", "deadline", "deadline_rule", "plan_date", "deadline_text",
             "days_late", "days_left", "kind", "repeat"}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HCM)


def _sweep(db, now, channels=CHANNELS):
    with db.session(write=True) as s:
        return sweep(s, now, channels, "https://kiemdiem.example.vn")


def _rows(db, **where) -> list[Notification]:
    with db.session() as s:
        query = select(Notification).order_by(Notification.dedup_key)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return list(s.scalars(query))


def _items(row: Notification) -> list[tuple[str, str, int]]:
    return sorted((i["stage"], i["kind"], i["repeat"]) for i in row.payload["items"])


def test_a_second_sweep_writes_nothing(db):
    seeded(db.url)
    first = _sweep(db, local(2026, 11, 24, 8))
    assert first.scanned == 17 and first.total > 0
    again = _sweep(db, local(2026, 11, 24, 8, 30))
    assert again.total == 0 and again.noticed == 0 and again.scanned == 17


def test_the_first_day_sends_one_bundle_per_unit_and_channel_that_says_how_late(db):
    """A fresh database on 29/11: a cell late on three stages gets one message per channel,
    titled by its longest-late stage, never "Nhắc lại lần 9"."""
    seeded(db.url)
    _sweep(db, local(2026, 11, 29, 9))
    rows = _rows(db)
    per_recipient = Counter((r.unit_id, r.kind == "escalation", r.channel) for r in rows)
    assert set(per_recipient.values()) == {1}
    thcs = {r.channel: r for r in _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"))}
    assert set(thcs) == set(CHANNELS)
    email = thcs["email"]
    assert email.dedup_key == "2026:GL-TS-THCS:notice:20261129:email:chibo.thcs@traso.example.vn"
    assert (email.kind, email.stage, email.payload["days_late"]) == ("late", "reports_prepared", 19)
    assert _items(email) == [("cell_met", "late", 0), ("forms_submitted", "late", 0),
                             ("reports_prepared", "late", 0)]
    assert not [r for r in rows if r.kind == "repeat"]


def test_repeat_counts_the_late_notices_really_written(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 17, 10), channels=("email",))  # reports late since 10/11: first word
    _sweep(db, local(2026, 11, 18, 10), channels=("email",))  # its next repeat window
    _sweep(db, local(2026, 11, 19, 10), channels=("email",))  # cell_met's first repeat window
    thcs = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"), channel="email", cycle_id=_cycle_id(db, "GL-TS-THCS"))
    assert [(r.payload["day"], r.kind, _items(r)) for r in thcs] == [
        ("2026-11-17", "late", [("cell_met", "late", 0), ("forms_submitted", "reminder", 0),
                                ("reports_prepared", "late", 0)]),
        ("2026-11-18", "repeat", [("reports_prepared", "repeat", 1)]),
        ("2026-11-19", "repeat", [("cell_met", "repeat", 1), ("forms_submitted", "reminder", 0)]),
    ]


def test_a_bundle_follows_the_contract(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 13, 8))  # 7 days before the cells' forms (before 20/11)
    rows = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"))
    by_channel = {r.channel: r for r in rows}
    assert set(by_channel) == set(CHANNELS)
    email = by_channel["email"]
    assert email.kind == "late" and email.recipient == "chibo.thcs@traso.example.vn"
    assert email.dedup_key == "2026:GL-TS-THCS:notice:20261113:email:chibo.thcs@traso.example.vn"
    assert by_channel["zalo_zns"].recipient == "0912000013"
    assert by_channel["zalo_oa"].recipient == "4410000000000000013"
    assert by_channel["webhook"].recipient == "GL-TS-THCS"
    assert by_channel["file"].recipient == "chibo.thcs@traso.example.vn"
    assert set(email.payload) == PAYLOAD_KEYS
    assert all(set(item) == ITEM_KEYS for item in email.payload["items"])
    forms = {"stage": "forms_submitted", "stage_label": "Gửi báo cáo, biểu mẫu lên cấp trên",
             "deadline": "2026-11-20T00:00:00+07:00", "deadline_rule": "before",
             "plan_date": "2026-11-20", "deadline_text": "trước ngày 20/11/2026", "days_late": None,
             "days_left": 7, "kind": "reminder", "repeat": 0}
    reports = {**forms, "stage": "reports_prepared", "stage_label": "Chuẩn bị báo cáo kiểm điểm",
               "deadline": "2026-11-10T00:00:00+07:00", "plan_date": "2026-11-10",
               "deadline_text": "trước ngày 10/11/2026", "days_late": 3, "days_left": None,
               "kind": "late"}
    assert email.payload == {
        **reports, "year": 2026, "campaign_id": email.campaign_id, "unit_id": _unit_id(db, "GL-TS-THCS"),
        "unit_code": "GL-TS-THCS", "unit_name": "Chi bộ Trường PTDTBT THCS Trà Sơn", "level": "cell",
        "secretary": "Đỗ Thị Lệ", "day": "2026-11-13", "link": "https://kiemdiem.example.vn/units/GL-TS-THCS",
        "kind": "late", "items": email.payload["items"]}
    cell_met = {**forms, "stage": "cell_met", "stage_label": "Họp chi bộ kiểm điểm, xếp loại",
                "deadline": "2026-11-17T00:00:00+07:00", "deadline_rule": "by", "plan_date": "2026-11-16",
                "deadline_text": "hoàn thành ngày 16/11/2026", "days_left": 4}
    assert sorted(email.payload["items"], key=lambda i: i["stage"]) == [cell_met, forms, reports]
    assert email.status == "pending" and email.next_attempt_at == local(2026, 11, 13, 8)


def test_names_with_quotes_backslashes_and_no_secretary_reach_the_payload_as_written(db):
    """The payload is built by the database's JSON functions: every value from a unit arrives as written."""
    seeded(db.url)
    odd = 'Chi bộ "Trà Sơn" \\ thôn 1\nxóm {2}'
    with db.session(write=True) as s:
        s.execute(update(Unit).where(Unit.code == "GL-TS-THCS").values(name=odd, secretary=None))
    _sweep(db, local(2026, 11, 23, 9), channels=("webhook",))
    [own] = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"))
    assert (own.payload["unit_name"], own.payload["secretary"]) == (odd, None)
    [parent] = _rows(db, kind="escalation", recipient="GL-TS")
    listed = {u["unit_code"]: u for u in parent.payload["late_units"]}
    assert (listed["GL-TS-THCS"]["unit_name"], listed["GL-TS-THCS"]["secretary"]) == (odd, None)


def test_a_unit_without_an_address_gets_no_row_on_that_channel(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 13, 8))
    no_email = {r.channel: r.recipient for r in _rows(db, unit_id=_unit_id(db, "GL-TS-T1"))}
    assert no_email == {"file": "GL-TS-T1", "zalo_zns": "0912000015", "webhook": "GL-TS-T1"}


def test_a_landline_or_a_foreign_number_gets_no_zalo_zns_row(db):
    """ZNS reaches mobiles only: a landline or a foreign number is kept for people to call,
    and the sweep writes that unit no ZNS message that could only fail."""
    seeded(db.url)
    with db.session(write=True) as s:
        s.execute(update(Unit).where(Unit.code == "GL-TS-T1").values(phone="02693822123"))
        s.execute(update(Unit).where(Unit.code == "GL-TS-T2").values(phone="+33612345678"))
    _sweep(db, local(2026, 11, 13, 8))
    zns = {r.unit_id: r.recipient for r in _rows(db, channel="zalo_zns")}
    assert _unit_id(db, "GL-TS-T1") not in zns and _unit_id(db, "GL-TS-T2") not in zns
    assert zns[_unit_id(db, "GL-TS-TH")] == "0912000014"  # a mobile still gets its message


def test_late_notice_days_late_and_a_by_deadline(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 17, 10), channels=("email",))
    [row] = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"))
    items = {i["stage"]: i for i in row.payload["items"]}
    cell_met = items["cell_met"]
    assert (cell_met["kind"], cell_met["days_late"], cell_met["plan_date"], cell_met["deadline_rule"],
            cell_met["deadline_text"]) == ("late", 0, "2026-11-16", "by", "hoàn thành ngày 16/11/2026")
    # late since 10/11 00:00 and never told: a late notice, 7 days late, not "repeat 3"
    assert (items["reports_prepared"]["kind"], items["reports_prepared"]["days_late"]) == ("late", 7)


def test_quiet_hours_push_all_but_exempt_channels(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 20, 0, 5), channels=("file", "zalo_zns"))
    rows = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"))
    assert {r.channel: r.next_attempt_at for r in rows} == {
        "file": local(2026, 11, 20, 7), "zalo_zns": local(2026, 11, 20, 7)}


def test_done_stages_inactive_units_and_extensions(db):
    seeded(db.url)
    for stage in ("reports_prepared", "cell_met", "forms_submitted"):
        if stage == "forms_submitted":  # the results gate wants the cell's results first
            submit_results(db.url, "GL-TS-TH", now="2026-11-05T09:00")
        assert run(db.url, "advance", "GL-TS-TH", "--to", stage, now="2026-11-05T09:00").exit_code == 0
    extended = run(db.url, "deadline", "extend", "GL-TS-T2", "forms_submitted", "2026-11-27",
                   "--reason", "thôn xa", now="2026-11-05T09:00")
    assert extended.exit_code == 0, extended.stderr
    with db.session(write=True) as s:
        s.execute(update(Unit).where(Unit.code == "GL-TS-YT").values(active=False))
    _sweep(db, local(2026, 11, 20, 9), channels=("webhook",))
    notices = {r.recipient: r for r in _rows(db) if r.kind != "escalation"}
    assert "GL-TS-TH" not in notices and "GL-TS-YT" not in notices
    assert ("forms_submitted", "late", 0) in _items(notices["GL-TS-THCS"])
    forms = [i for i in notices["GL-TS-T2"].payload["items"] if i["stage"] == "forms_submitted"]
    assert [(i["kind"], i["days_left"], i["plan_date"], i["deadline_text"]) for i in forms] == \
        [("reminder", 7, "2026-11-27", "trước ngày 27/11/2026")]


def test_a_parent_gets_one_escalation_a_day_listing_every_late_child_across_stages(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 23, 9), channels=("email",))
    rows = _rows(db, kind="escalation")
    by_recipient = {r.recipient: r for r in rows}
    assert len(by_recipient) == len(rows)
    ts = by_recipient["dangbo.traso@traso.example.vn"]
    assert ts.dedup_key == "2026:GL-TS:escalation:20261123:email:dangbo.traso@traso.example.vn"
    assert sorted((u["unit_code"], u["stage"]) for u in ts.payload["late_units"]) == sorted(
        (code, stage) for code in ("GL-TS-T1", "GL-TS-T2", "GL-TS-TH", "GL-TS-THCS", "GL-TS-YT")
        for stage in ("reports_prepared", "cell_met", "forms_submitted"))
    assert ts.payload["late_count"] == 15 and ts.payload["secretary"] == "Hồ Văn Dũng"
    assert ts.payload["late_units"][0]["days_late"] == 13  # the longest late first
    # the office hears of it in its daily digest, not here
    assert "bantochuc@tinhuy.example.vn" not in by_recipient or by_recipient[
        "bantochuc@tinhuy.example.vn"].payload["unit_code"] == "GL"
    assert _sweep(db, local(2026, 11, 23, 18), channels=("email",)).total == 0
    # the next day brings no second escalation of the same (child, stage)
    assert not _rows(db, kind="escalation", recipient="dangbo.traso@traso.example.vn")[1:]
    _sweep(db, local(2026, 11, 24, 9), channels=("email",))
    assert len(_rows(db, kind="escalation", recipient="dangbo.traso@traso.example.vn")) == 1


def test_a_parent_is_escalated_again_only_when_another_stage_reaches_its_escalation(db):
    """Then, once that day, it hears of every child late now, those of its earlier escalation too."""
    seeded(db.url)
    parent = {"kind": "escalation", "recipient": "dangbo.traso@traso.example.vn"}
    children = ("GL-TS-T1", "GL-TS-T2", "GL-TS-TH", "GL-TS-THCS", "GL-TS-YT")
    _sweep(db, local(2026, 11, 13, 9), channels=("email",))  # reports, before 10/11: 3 days late
    [first] = _rows(db, **parent)
    assert sorted((u["unit_code"], u["stage"]) for u in first.payload["late_units"]) == [
        (code, "reports_prepared") for code in children]
    for day in (14, 15, 16, 17, 18, 19):  # the same children still late, nothing new to tell
        assert _sweep(db, local(2026, 11, day, 9), channels=("email",)).written["escalation"] == 0
    _sweep(db, local(2026, 11, 20, 9), channels=("email",))  # cell_met, by 16/11: 3 days late
    [_, second] = _rows(db, **parent)
    assert second.dedup_key == "2026:GL-TS:escalation:20261120:email:dangbo.traso@traso.example.vn"
    assert sorted((u["unit_code"], u["stage"]) for u in second.payload["late_units"]) == sorted(
        (code, stage) for code in children for stage in ("reports_prepared", "cell_met"))
    assert second.payload["late_count"] == 10
    # another instance sweeping the same day writes no second escalation
    assert _sweep(db, local(2026, 11, 20, 9, 5), channels=("email",)).total == 0


def test_a_recipient_told_today_hears_of_what_falls_due_later_tomorrow(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 3, 8), channels=("email",))  # 7 days before 10/11
    # the same afternoon the cell's meeting is brought forward to 05/11: a reminder is owed,
    # but the cell has had today's message
    with db.session(write=True) as s:
        cycle = _cycle_id(db, "GL-TS-T2")
        s.add(DeadlineExtension(cycle_id=cycle, stage="cell_met", stage_rank=RANK["cell_met"],
                                due_at=local(2026, 11, 5), reason="họp sớm", actor="test",
                                created_at=local(2026, 11, 3, 15)))
    assert _sweep(db, local(2026, 11, 3, 15), channels=("email",)).total == 0
    _sweep(db, local(2026, 11, 4, 8), channels=("email",))
    rows = _rows(db, unit_id=_unit_id(db, "GL-TS-T2"))
    assert [(r.payload["day"], _items(r)) for r in rows] == [
        ("2026-11-03", [("reports_prepared", "reminder", 0)]),
        ("2026-11-04", [("cell_met", "reminder", 0)])]
    assert rows[1].payload["items"][0]["days_left"] == 1


def test_a_sweep_rolled_back_leaves_nothing_and_the_next_one_writes_it_all(db):
    seeded(db.url)
    with db.session(write=True) as s:
        sweep(s, local(2026, 11, 29, 9), CHANNELS, "https://kiemdiem.example.vn")
        s.rollback()  # the process died before the commit
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Notice)) == 0
    assert _rows(db) == []
    again = _sweep(db, local(2026, 11, 29, 9, 5))
    assert again.total == len(_rows(db)) > 0


def _unit_id(db, code: str) -> int:
    with db.session() as s:
        return s.scalar(select(Unit.id).where(Unit.code == code))


def _cycle_id(db, code: str) -> int:
    with db.session() as s:
        return s.scalar(select(Cycle.id).join(Unit, Unit.id == Cycle.unit_id).where(Unit.code == code))
def test_only_the_current_campaign_is_swept(db, tmp_path):
    from tests.helpers import SAMPLE_PLAN

    seeded(db.url)
    next_year = tmp_path / "2027.yaml"
    next_year.write_text(SAMPLE_PLAN.read_text(encoding="utf-8").replace("2027-", "2028-")
                         .replace("2026", "2027"), encoding="utf-8")
    assert run(db.url, "campaign", "create", "2027", "--plan", str(next_year)).exit_code == 0
    _sweep(db, local(2027, 11, 24, 8))
    years = {row.payload["year"] for row in _rows(db)}
    assert years == {2027}  # the 2026 cycles, still late, raise nothing once 2027 is issued


def test_an_escalation_lists_the_latest_children_and_counts_them_all(db, monkeypatch):
    monkeypatch.setattr("schedules.sweep.LISTED_LATE_UNITS", 3)
    seeded(db.url)
    _sweep(db, local(2026, 11, 23, 9), channels=("email",))
    parent = {r.recipient: r for r in _rows(db, kind="escalation")}["dangbo.traso@traso.example.vn"]
    assert len(parent.payload["late_units"]) == 3 and parent.payload["late_count"] == 15
    assert {u["stage"] for u in parent.payload["late_units"]} == {"reports_prepared"}


def _statements(db) -> list[tuple[str, object]]:
    """Record every statement `db` runs from now on."""
    seen: list[tuple[str, object]] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: seen.append((statement, params)))
    return seen


def test_a_sweep_with_nothing_new_looks_for_no_bundle(db):
    seeded(db.url)
    assert _sweep(db, local(2026, 11, 13, 8)).total > 0
    seen = _statements(db)
    assert _sweep(db, local(2026, 11, 13, 8, 30)).total == 0
    assert not [s for s, _ in seen if s.startswith("INSERT INTO notifications")]
    # four days on the 3-day reminders and the late notices are owed: they are written
    later = _sweep(db, local(2026, 11, 17, 8))
    assert later.written["repeat"] > 0
    keys = {r.dedup_key for r in _rows(db)}
    assert "2026:GL-TS-THCS:notice:20261117:email:chibo.thcs@traso.example.vn" in keys


def test_on_postgresql_no_statement_probes_the_ledger_it_writes(pg_url):
    """The owed notices are selected into a temporary table, then inserted from it: an insert
    whose own SELECT probes the ledger rescans, per row, the pages it has written
    (quadratic: the national first day took longer than 15 minutes). The SELECT can also
    run on parallel workers, which an `INSERT … SELECT` never does."""
    with migrated(pg_url) as db:
        seeded(db.url)
        seen = _statements(db)
        _sweep(db, local(2026, 11, 13, 8))
        inserts = [s for s, _ in seen if s.startswith("INSERT INTO notices")]
        assert inserts and all("FROM staged_rows" in s and " notices " not in s.split("FROM", 1)[1]
                               for s in inserts)
        staged = [(s, p) for s, p in seen if s.startswith("CREATE TEMPORARY TABLE staged_rows AS")]
        assert len(staged) == 3  # the notices, the units' bundles of the day, the escalations
        with db.engine.connect() as conn:  # parallel plans as cheap as on 300,000 cycles
            for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
                conn.exec_driver_sql(f"SET {setting} = 0")
            plan = conn.exec_driver_sql("EXPLAIN " + staged[0][0], staged[0][1]).scalars().all()
        assert any("Gather" in line for line in plan), "\n".join(plan)

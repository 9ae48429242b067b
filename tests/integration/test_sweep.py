"""The set-based sweep on SQLite and PostgreSQL: what it writes, to whom, and never twice."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Text, cast, event, select, type_coerce, update

from schedules.sweep import sweep
from tests.conftest import migrated
from tests.helpers import run, seeded, submit_results
from workflow.models import Notification, Unit

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("file", "email", "zalo_zns", "zalo_oa", "webhook")
PAYLOAD_KEYS = {"year", "unit_code", "unit_name", "level", "stage", "stage_label", "deadline",
                "deadline_rule", "plan_date", "days_before", "days_late", "occurrence",
                "secretary", "link"}


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


def test_a_second_sweep_writes_nothing(db):
    seeded(db.url)
    first = _sweep(db, local(2026, 11, 24, 8))
    assert first.scanned == 17 and first.total > 0
    again = _sweep(db, local(2026, 11, 24, 8, 30))
    assert again.total == 0 and again.scanned == 17


def test_reminders_follow_the_contract(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 13, 8))  # 7 days before the cells' forms (before 20/11)
    rows = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"), stage="forms_submitted")
    by_channel = {r.channel: r for r in rows}
    assert set(by_channel) == set(CHANNELS)
    email = by_channel["email"]
    assert email.kind == "reminder" and email.recipient == "chibo.thcs@traso.example.vn"
    assert email.dedup_key == "2026:GL-TS-THCS:forms_submitted:reminder:7:email:chibo.thcs@traso.example.vn"
    assert by_channel["zalo_zns"].recipient == "0912000013"
    assert by_channel["zalo_oa"].recipient == "4410000000000000013"
    assert by_channel["webhook"].recipient == "GL-TS-THCS"
    assert by_channel["file"].recipient == "chibo.thcs@traso.example.vn"
    assert set(email.payload) == PAYLOAD_KEYS
    assert email.payload | {"stage_label": None} == {
        "year": 2026, "unit_code": "GL-TS-THCS", "unit_name": "Chi bộ Trường PTDTBT THCS Trà Sơn",
        "level": "cell", "stage": "forms_submitted", "stage_label": None,
        "deadline": "2026-11-19T17:00:00Z", "deadline_rule": "before", "plan_date": "2026-11-20",
        "days_before": 7, "days_late": None, "occurrence": 7, "secretary": "Đỗ Thị Lệ",
        "link": "https://kiemdiem.example.vn/units/GL-TS-THCS"}
    assert email.status == "pending" and email.next_attempt_at == local(2026, 11, 13, 8)


def test_a_unit_without_an_address_gets_no_row_on_that_channel(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 13, 8))
    no_email = {r.channel: r.recipient for r in _rows(db, unit_id=_unit_id(db, "GL-TS-T1"),
                                                      stage="forms_submitted")}
    assert no_email == {"file": "GL-TS-T1", "zalo_zns": "0912000015", "webhook": "GL-TS-T1"}


def test_a_landline_or_a_foreign_number_gets_no_zalo_zns_row(db):
    """ZNS reaches mobiles only: a landline or a foreign number is kept for people to call,
    and the sweep writes that unit no ZNS message that could only fail."""
    seeded(db.url)
    with db.session(write=True) as s:
        s.execute(update(Unit).where(Unit.code == "GL-TS-T1").values(phone="02693822123"))
        s.execute(update(Unit).where(Unit.code == "GL-TS-T2").values(phone="+33612345678"))
    _sweep(db, local(2026, 11, 13, 8))
    zns = {r.unit_id: r.recipient for r in _rows(db, channel="zalo_zns", stage="forms_submitted")}
    assert _unit_id(db, "GL-TS-T1") not in zns and _unit_id(db, "GL-TS-T2") not in zns
    assert zns[_unit_id(db, "GL-TS-TH")] == "0912000014"  # a mobile still gets its message


def test_late_notice_days_late_and_a_by_deadline(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 17, 10), channels=("email",))
    late = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"), stage="cell_met")
    assert [(r.kind, r.payload["days_late"], r.payload["plan_date"], r.payload["deadline_rule"])
            for r in late] == [("late", 0, "2026-11-16", "by")]
    reports = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"), stage="reports_prepared")
    assert [(r.kind, r.payload["occurrence"], r.payload["days_late"]) for r in reports] == \
        [("repeat", 3, 7)]  # late since 10/11 00:00: repeats on 12, 14, 16/11


def test_quiet_hours_push_all_but_exempt_channels(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 20, 0, 5), channels=("file", "zalo_zns"))
    rows = _rows(db, unit_id=_unit_id(db, "GL-TS-THCS"), stage="forms_submitted")
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
    forms = {r.recipient: r for r in _rows(db, stage="forms_submitted", kind="late")}
    assert "GL-TS-TH" not in forms and "GL-TS-YT" not in forms and "GL-TS-T2" not in forms
    assert "GL-TS-THCS" in forms
    reminder = _rows(db, stage="forms_submitted", recipient="GL-TS-T2")
    assert [(r.kind, r.payload["occurrence"], r.payload["plan_date"]) for r in reminder] == \
        [("reminder", 7, "2026-11-27")]


def test_escalation_groups_late_children_per_parent_and_office(db):
    seeded(db.url)
    _sweep(db, local(2026, 11, 23, 9), channels=("email",))
    rows = _rows(db, kind="escalation", stage="forms_submitted")
    by_recipient = {r.recipient: r for r in rows}
    ts = by_recipient["dangbo.traso@traso.example.vn"]
    assert ts.dedup_key == ("2026:GL-TS:forms_submitted:escalation:20261123:email:"
                            "dangbo.traso@traso.example.vn")
    assert sorted(u["unit_code"] for u in ts.payload["late_units"]) == [
        "GL-TS-T1", "GL-TS-T2", "GL-TS-TH", "GL-TS-THCS", "GL-TS-YT"]
    assert ts.payload["late_units"][0]["days_late"] == 3 and ts.payload["secretary"] == "Hồ Văn Dũng"
    office = by_recipient["bantochuc@tinhuy.example.vn"]
    assert office.unit_id is None and office.payload["unit_code"] == "office"
    assert len(office.payload["late_units"]) == 11  # every late cell of the province
    assert _sweep(db, local(2026, 11, 23, 18), channels=("email",)).total == 0


def _unit_id(db, code: str) -> int:
    with db.session() as s:
        return s.scalar(select(Unit.id).where(Unit.code == code))


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
    rows = _rows(db, kind="escalation", stage="forms_submitted")
    office = {r.recipient: r for r in rows}["bantochuc@tinhuy.example.vn"]
    assert len(office.payload["late_units"]) == 3 and office.payload["late_count"] == 11
    parent = {r.recipient: r for r in rows}["dangbo.traso@traso.example.vn"]
    assert len(parent.payload["late_units"]) == 3 and parent.payload["late_count"] == 5


def _payload_texts(db) -> dict[str, str]:
    """The notices' payloads as the database stores them (`json` keeps the text it was given)."""
    with db.session() as s:
        payload = cast(Notification.payload, Text) if s.get_bind().dialect.name == "postgresql" \
            else Notification.payload.expression
        rows = s.execute(select(Notification.dedup_key, type_coerce(payload, Text))
                         .where(Notification.kind != "escalation"))
        return dict(rows.all())


def test_a_payload_is_the_text_the_database_builds_for_that_object(db):
    """Payloads are put together from parts rendered once per deadline; the text stays what
    `json_build_object` (PostgreSQL) or `json_object` (SQLite) writes for the whole object."""
    seeded(db.url)
    extended = run(db.url, "deadline", "extend", "GL-TS-T2", "forms_submitted", "2026-11-27",
                   "--reason", "thôn xa", now="2026-11-05T09:00")
    assert extended.exit_code == 0, extended.stderr
    with db.session(write=True) as s:
        s.execute(update(Unit).where(Unit.code == "GL-TS-THCS")
                  .values(name='Chi bộ "THCS" \\ Trà Sơn\t1', secretary=None))
    _sweep(db, local(2026, 11, 17, 8))
    _sweep(db, local(2026, 11, 20, 9))
    texts = _payload_texts(db)
    pg = db.engine.dialect.name == "postgresql"
    assert {"reminder", "late"} <= {key.split(":")[3] for key in texts}
    assert "2026:GL-TS-T2:forms_submitted:reminder:7:file:chibo.thon2@traso.example.vn" in texts
    for key, stored in texts.items():
        value = json.loads(stored)
        if pg:
            expected = "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} : "
                                       f"{json.dumps(v, ensure_ascii=False)}" for k, v in value.items()) + "}"
        else:
            expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        assert stored == expected, key
    thcs = json.loads(texts["2026:GL-TS-THCS:forms_submitted:reminder:3:file:chibo.thcs@traso.example.vn"])
    assert thcs["unit_name"] == 'Chi bộ "THCS" \\ Trà Sơn\t1' and thcs["secretary"] is None


def _statements(db) -> list[tuple[str, object]]:
    """Record every statement `db` runs from now on."""
    seen: list[tuple[str, object]] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: seen.append((statement, params)))
    return seen


def test_on_postgresql_a_sweep_with_nothing_new_counts_and_does_not_insert(pg_url):
    with migrated(pg_url) as db:
        seeded(db.url)
        assert _sweep(db, local(2026, 11, 13, 8)).total > 0
        seen = _statements(db)
        assert _sweep(db, local(2026, 11, 13, 8, 30)).total == 0
        notices = [s for s, _ in seen if s.startswith("INSERT") and "RETURNING" in s]
        assert notices == [] and any(s.startswith("SELECT count(*)") and "notifications" in s
                                     for s, _ in seen)
        # four days on the count finds the 3-day reminders and the late notices: they are written
        later = _sweep(db, local(2026, 11, 17, 8))
        assert later.written["reminder"] > 0 and later.written["late"] > 0
        keys = {r.dedup_key for r in _rows(db)}
        assert "2026:GL-TS-THCS:forms_submitted:reminder:3:email:chibo.thcs@traso.example.vn" in keys


def test_on_postgresql_the_count_before_the_insert_can_run_in_parallel(pg_url):
    """Nothing in the count rules out a parallel plan (an `OFFSET 0` fence or a `MATERIALIZED`
    CTE would): with parallel query forced, the planner puts the whole count under a Gather."""
    with migrated(pg_url) as db:
        seeded(db.url)
        _sweep(db, local(2026, 11, 13, 8))
        seen = _statements(db)
        _sweep(db, local(2026, 11, 13, 8, 30))
        counts = [(s, p) for s, p in seen if s.startswith("SELECT count(*)") and "notifications" in s]
        assert len(counts) == 1
        with db.engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version_num").scalar_one()
            forced = "debug_parallel_query" if int(version) >= 160000 else "force_parallel_mode"
            conn.exec_driver_sql(f"SET {forced} = on")
            plan = conn.exec_driver_sql("EXPLAIN " + counts[0][0], counts[0][1]).scalars().all()
        assert plan[0].startswith("Gather"), "\n".join(plan)

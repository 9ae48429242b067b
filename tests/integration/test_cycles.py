"""Advancing, rolling up, reopening and extending cycles, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import SAMPLE_PLAN, run, run_json, seeded, submit_results
from workflow.models import AuditEntry, Cycle, DeadlineExtension, Unit

NOW = "2026-11-21T09:00"


def _state(db, code: str) -> tuple[str, bool]:
    with db.session() as s:
        row = s.execute(select(Cycle.state, Cycle.stale).join(Unit, Unit.id == Cycle.unit_id)
                        .where(Unit.code == code)).one()
        return row.state, row.stale


def _walk(db, code: str, *stages: str) -> None:
    for stage in stages:
        result = run(db.url, "advance", code, "--to", stage, now=NOW)
        assert result.exit_code == 0, result.stderr
        if stage == "cell_met":  # the results gate wants valid results before forms_submitted
            submit_results(db.url, code, now=NOW)


def test_campaign_gives_every_unit_a_cycle_with_its_flow(db):
    seeded(db.url)
    rows = {r["unit"]: r for r in run_json(db.url, "status", now=NOW)}
    assert len(rows) == 17
    assert rows["GL-TS-THCS"]["next_stage"] == "reports_prepared"
    assert rows["GL-TS-THCS"]["overdue"] is True and rows["GL-TS-THCS"]["days_late"] == 11
    assert rows["GL"]["deadline"] == "2027-01-20T00:00:00+07:00" and rows["GL"]["overdue"] is False
    again = run(db.url, "campaign", "create", "2026", "--plan", str(SAMPLE_PLAN))
    assert again.exit_code == 1 and "Đợt kiểm điểm 2026 đã có" in again.stderr


def test_a_cell_without_committee_skips_the_committee_meeting(db):
    seeded(db.url)
    _walk(db, "GL-TS-T1", "reports_prepared")
    refused = run(db.url, "advance", "GL-TS-T1", "--to", "committee_met", now=NOW)
    assert refused.exit_code == 1 and "không áp dụng" in refused.stderr
    _walk(db, "GL-TS-T1", "cell_met", "forms_submitted")
    assert _state(db, "GL-TS-T1") == ("forms_submitted", False)


def test_parent_submission_waits_for_children_then_aggregates_them(db):
    seeded(db.url)
    _walk(db, "GL-PC-CH", "reports_prepared", "committee_met")
    refused = run(db.url, "advance", "GL-PC-CH", "--to", "forms_submitted", now=NOW)
    assert refused.exit_code == 1
    assert "GL-PC-CH-T1, GL-PC-CH-T2" in refused.stderr and "Traceback" not in refused.stderr
    for cell in ("GL-PC-CH-T1", "GL-PC-CH-T2"):
        _walk(db, cell, "reports_prepared", "cell_met", "forms_submitted")
    result = run(db.url, "advance", "GL-PC-CH", "--to", "forms_submitted", now=NOW)
    assert result.exit_code == 0 and "đã tổng hợp: GL-PC-CH-T1, GL-PC-CH-T2" in result.stdout
    assert _state(db, "GL-PC-CH-T1") == ("aggregated", False)


def test_force_overrides_a_guard_and_the_audit_keeps_why(db):
    seeded(db.url)
    _walk(db, "GL-TS", "reports_prepared", "committee_met")
    no_reason = run(db.url, "advance", "GL-TS", "--to", "forms_submitted", "--force", now=NOW)
    assert no_reason.exit_code == 2
    forced = run(db.url, "--as", "can.bo.btc", "advance", "GL-TS", "--to", "forms_submitted", "--force",
                 "--reason", "Báo cáo giấy đã nhận đủ", now=NOW)
    assert forced.exit_code == 0, forced.stderr
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "cycle.advance")
                          .order_by(AuditEntry.id.desc())).first()
        assert entry.actor == "can.bo.btc" and entry.reason == "Báo cáo giấy đã nhận đủ"
        assert entry.details["forced"][0].startswith("children_submitted")


def test_reopen_goes_back_to_the_meeting_and_flags_submitted_ancestors(db):
    seeded(db.url)
    for cell in ("GL-PC-CH-T1", "GL-PC-CH-T2"):
        _walk(db, cell, "reports_prepared", "cell_met", "forms_submitted")
    _walk(db, "GL-PC-CH", "reports_prepared", "committee_met", "forms_submitted")
    result = run(db.url, "reopen", "GL-PC-CH-T1", "--reason", "Sai tỷ lệ HTXS", now=NOW)
    assert result.exit_code == 0, result.stderr
    assert _state(db, "GL-PC-CH-T1") == ("cell_met", False)
    assert _state(db, "GL-PC-CH") == ("forms_submitted", True)
    assert _state(db, "GL-PC") == ("plan_issued", False)
    # the re-classified cell goes straight into its parent's (stale) aggregate
    _walk(db, "GL-PC-CH-T1", "forms_submitted")
    assert _state(db, "GL-PC-CH-T1") == ("aggregated", False)
    not_submitted = run(db.url, "reopen", "GL-PC-CH-T1", "--reason", "", now=NOW)
    assert not_submitted.exit_code == 2


def test_reached_at_is_recorded_for_paper_reports(db):
    seeded(db.url)
    result = run(db.url, "advance", "GL-TS-T2", "--to", "reports_prepared", "--at", "2026-11-09T16:00",
                 "--by", "Văn phòng Đảng ủy", now=NOW)
    assert result.exit_code == 0
    with db.session() as s:
        cycle = s.scalar(select(Cycle).join(Unit).where(Unit.code == "GL-TS-T2"))
        assert cycle.state_changed_at.isoformat() == "2026-11-09T09:00:00+00:00"
    future = run(db.url, "advance", "GL-TS-T2", "--to", "cell_met", "--at", "2026-12-01", now=NOW)
    assert future.exit_code == 2


def test_an_extension_moves_the_deadline_within_the_parents(db):
    seeded(db.url)
    ok = run(db.url, "deadline", "extend", "GL-TS-T1", "forms_submitted", "2026-11-28",
             "--reason", "Bí thư nằm viện", now=NOW)
    assert ok.exit_code == 0, ok.stderr
    late = {(r["unit"], r["stage"]) for r in run_json(db.url, "overdue", "--as-of", "2026-11-25", now=NOW)}
    assert ("GL-TS-T1", "forms_submitted") not in late and ("GL-TS-T2", "forms_submitted") in late
    beyond = run(db.url, "deadline", "extend", "GL-TS-T1", "forms_submitted", "2026-12-10", "--reason", "x", now=NOW)
    assert beyond.exit_code == 1 and "của cấp trên GL-TS" in beyond.stderr
    backwards = run(db.url, "deadline", "extend", "GL-TS-T1", "cell_met", "2026-11-30", "--reason", "x", now=NOW)
    assert backwards.exit_code == 1 and "phải giữ thứ tự" in backwards.stderr
    tighten = run(db.url, "deadline", "extend", "GL-TS", "committee_met", "2026-11-24", "--reason", "x", now=NOW)
    assert tighten.exit_code == 1
    assert "GL-TS: hạn mới 24/11/2026 00:00 sớm hơn hạn committee_met của kế hoạch (01/12/2026 00:00)" \
        in tighten.stderr
    past = run(db.url, "deadline", "extend", "GL-TS", "committee_met", "2026-12-02", "--reason", "x",
               now="2026-12-03")
    assert past.exit_code == 1 and "GL-TS: hạn mới 02/12/2026 00:00 đã qua" in past.stderr
    later = run(db.url, "deadline", "extend", "GL-TS", "committee_met", "2026-12-02", "--reason", "x", now=NOW)
    assert later.exit_code == 0, later.stderr
    none = run(db.url, "deadline", "extend", "GL-TS", "cell_met", "2026-11-25", "--reason", "x", now=NOW)
    assert none.exit_code == 1
    with db.session() as s:
        assert len(s.scalars(select(DeadlineExtension)).all()) == 2
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "deadline.extend")).reason == "Bí thư nằm viện"


def test_overdue_lists_one_row_per_late_unit_and_stage(db):
    seeded(db.url)
    _walk(db, "GL-TS-THCS", "reports_prepared")
    rows = run_json(db.url, "overdue", "--under", "GL-TS", "--as-of", "2026-11-20T10:00", now=NOW)
    keys = [(r["unit"], r["stage"]) for r in rows]
    assert ("GL-TS-THCS", "reports_prepared") not in keys
    assert ("GL-TS-THCS", "cell_met") in keys and ("GL-TS-T1", "reports_prepared") in keys
    assert ("GL-TS-T1", "forms_submitted") in keys
    assert set(rows[0]) == {"unit", "name", "level", "stage", "deadline", "days_late", "secretary"}
    first = next(r for r in rows if r["unit"] == "GL-TS-T1" and r["stage"] == "reports_prepared")
    assert first["days_late"] == 10 and first["deadline"] == "2026-11-10T00:00:00+07:00"


def test_overdue_lists_an_extended_deadline_once_in_deadline_order(db):
    seeded(db.url)
    ok = run(db.url, "deadline", "extend", "GL-TS-T1", "forms_submitted", "2026-11-28",
             "--reason", "Bí thư nằm viện", now=NOW)
    assert ok.exit_code == 0, ok.stderr
    rows = run_json(db.url, "overdue", "--as-of", "2026-12-24T18:30", now=NOW)
    submitted = [r for r in rows if r["unit"] == "GL-TS-T1" and r["stage"] == "forms_submitted"]
    assert [r["deadline"] for r in submitted] == ["2026-11-28T00:00:00+07:00"]
    assert submitted[0]["days_late"] == 26
    order = [(r["deadline"], r["unit"]) for r in rows]
    assert order == sorted(order) and len({r["deadline"] for r in rows}) > 3
    under = run_json(db.url, "overdue", "--under", "GL-TS-T1", "--as-of", "2026-12-24T18:30", now=NOW)
    assert {r["unit"] for r in under} == {"GL-TS-T1"} and submitted[0] in under


def test_a_unit_added_after_the_campaign_gets_a_cycle_on_import(db, tmp_path):
    seeded(db.url)
    path = tmp_path / "more.csv"
    path.write_text("code,name,level,parent\nGL-TS-T3,Chi bộ thôn 3,cell,GL-TS\n", encoding="utf-8")
    result = run(db.url, "units", "import", str(path), now=NOW)
    assert result.exit_code == 0 and "Đã thêm 1 chu kỳ" in result.stdout
    assert any(r["unit"] == "GL-TS-T3" for r in run_json(db.url, "status", "GL-TS", now=NOW))


def test_overdue_json_rendered_by_the_database_equals_the_python_rows(db):
    import json

    from kiemdiem.output import to_jsonable
    from kiemdiem.timeparse import parse_instant
    from workflow.lookup import get_campaign
    from workflow.queries import overdue_json, overdue_rows

    seeded(db.url)
    _walk(db, "GL-TS-THCS", "reports_prepared")
    as_of = parse_instant("2026-12-24T18:30")
    with db.session() as s:
        campaign = get_campaign(s, 2026)
        python = [{k: to_jsonable(v) for k, v in r.items()} for r in overdue_rows(s, campaign, as_of)]
        database = [json.loads(line) for chunk in overdue_json(s, campaign, as_of)
                    for line in chunk.splitlines()]
    assert database == python and len(python) > 20


def test_overdue_json_keeps_quotes_commas_and_backslashes_in_names(db, tmp_path):
    seeded(db.url)
    name = 'Chi bộ "Tổ 3, khu A" \\ cũ'
    path = tmp_path / "more.csv"
    path.write_text('code,name,level,parent,secretary\n'
                    f'GL-TS-T3,"{name.replace(chr(34), chr(34) * 2)}",cell,GL-TS,"Lê ""Ba"""\n',
                    encoding="utf-8")
    assert run(db.url, "units", "import", str(path), now=NOW).exit_code == 0
    rows = run_json(db.url, "overdue", "--under", "GL-TS-T3", "--as-of", "2026-11-20T10:00", now=NOW)
    assert {(r["name"], r["secretary"]) for r in rows} == {(name, 'Lê "Ba"')}
    assert [r["stage"] for r in rows] == ["reports_prepared", "cell_met", "forms_submitted"]

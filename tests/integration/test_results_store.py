"""Submitting, amending and checking results, and the gate on forms_submitted, on both backends."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from tests.helpers import run, seeded
from workflow.models import AuditEntry, Cycle, MemberResult, Unit, UnitResult

NOW = "2026-11-17T09:00"
CELL = "GL-TS-T1"
MEMBERS = ("name,role,is_head,level,votes_for,full_members_voting,score_general,score_tasks,"
           "tasks_total,tasks_on_time,tasks_exceeded,admitted_on,absent\n")


def member(name, level, score="25,50", tasks="10,10,0", head="", votes="8,10", admitted="", absent=""):
    return f"{name},,{head},{level},{votes},{score},{tasks},{admitted},{absent}\n"


GOOD = (MEMBERS + member("Nguyễn Văn Tư", "HTT", head="có")
        + "".join(member(f"Đảng viên {i}", "HTT") for i in range(1, 5))
        + member("Trần Thị Xuân", "HTXS", score="30,62", tasks="10,10,4", votes="9,10")
        + member("Lê Văn Mới", "", votes=",", score=",", tasks=",,", admitted="2026-09-01")
        + member("Phạm Vắng", "", votes=",", score=",", tasks=",,", absent="có"))


def at_cell_met(db, code=CELL):
    seeded(db.url)
    for stage in ("reports_prepared", "cell_met"):
        assert run(db.url, "advance", code, "--to", stage, "--at", "2026-11-16T09:00", now=NOW).exit_code == 0


def write(tmp_path, text, name="kq.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def stored(db, code=CELL):
    with db.session() as s:
        return s.scalar(select(UnitResult).join(Cycle, Cycle.id == UnitResult.cycle_id)
                        .join(Unit, Unit.id == Cycle.unit_id).where(Unit.code == code))


def test_submit_stores_members_and_counts_then_the_gate_opens(db, tmp_path):
    at_cell_met(db)
    refused = run(db.url, "advance", CELL, "--to", "forms_submitted", now=NOW)
    assert refused.exit_code == 1 and "chưa nhập kết quả xếp loại" in refused.stderr
    result = run(db.url, "results", "submit", CELL, write(tmp_path, GOOD), "--unit-level", "HTT", now=NOW)
    assert result.exit_code == 0, result.stderr
    assert "HTXS 1, HTT 5, HT 0, KHT 0, NOT_CLASSIFIED 1, PENDING 1" in result.stdout
    row = stored(db)
    assert (row.count_htt, row.nc_new_member, row.valid, row.collective_level) == (5, 1, True, "HTT")
    assert row.review_date.isoformat() == "2026-11-16" and row.rule_set == "qd366"
    shown = json.loads(run(db.url, "results", "show", CELL, "--json", now=NOW).stdout)
    assert shown["members"][0] == {"name": "Nguyễn Văn Tư", "role": None, "is_head": True, "level": "HTT",
                                   "votes": "8/10", "score": 75.0}
    ok = run(db.url, "advance", CELL, "--to", "forms_submitted", now=NOW)
    assert ok.exit_code == 0, ok.stderr
    with db.session() as s:
        audit = s.scalar(select(AuditEntry).where(AuditEntry.action == "results.submit"))
        assert audit.details["counts"]["HTT"] == 5 and "Nguyễn" not in json.dumps(audit.details)


def test_violations_store_nothing_unless_forced_and_the_gate_stays_shut(db, tmp_path):
    at_cell_met(db)
    bad = GOOD.replace("Đảng viên 1,,,HTT", "Đảng viên 1,,,HTXS")
    path = write(tmp_path, bad)
    refused = run(db.url, "results", "submit", CELL, path, "--unit-level", "HTT", now=NOW)
    assert refused.exit_code == 1
    assert "QUOTA_EXCELLENT: Số đảng viên HTXS (2) vượt 20% số HTT (4) của chi bộ: tối đa 0" in refused.stderr
    assert "SCORE_BAND" in refused.stderr and stored(db) is None
    check = run(db.url, "results", "check", CELL, path, "--json", now=NOW)
    assert check.exit_code == 1
    assert {v["code"] for v in json.loads(check.stdout)} == {"QUOTA_EXCELLENT", "SCORE_BAND"}
    forced = run(db.url, "results", "submit", CELL, path, "--force", "--reason", "BTV chấp thuận", now=NOW)
    assert forced.exit_code == 0 and "vi phạm được chấp nhận" in forced.stderr
    assert stored(db).valid is False
    shut = run(db.url, "advance", CELL, "--to", "forms_submitted", now=NOW)
    assert shut.exit_code == 1 and "vi phạm 2 quy định" in shut.stderr
    assert run(db.url, "results", "check", CELL, now=NOW).exit_code == 1
    through = run(db.url, "advance", CELL, "--to", "forms_submitted", "--force", "--reason", "x", now=NOW)
    assert through.exit_code == 0
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "cycle.advance")
                          .order_by(AuditEntry.id.desc())).first()
        assert entry.details["forced"][0].startswith("results_valid")


def test_bad_input_and_wrong_stage_store_nothing(db, tmp_path):
    seeded(db.url)
    early = run(db.url, "results", "submit", CELL, write(tmp_path, GOOD), now=NOW)
    assert early.exit_code == 1 and "cell_met" in early.stderr
    parent = run(db.url, "results", "submit", "GL-TS", write(tmp_path, GOOD), now=NOW)
    assert parent.exit_code == 1 and "results level" in parent.stderr
    at_cell = "GL-TS-T2"
    for stage in ("reports_prepared", "cell_met"):
        run(db.url, "advance", at_cell, "--to", stage, now=NOW)
    bad = run(db.url, "results", "submit", at_cell,
              write(tmp_path, MEMBERS + member("A", "TỐT") + member("B", "HT", votes="11,10")), now=NOW)
    assert bad.exit_code == 2 and "dòng 2, cột level" in bad.stderr and "dòng 3, cột votes_for" in bad.stderr
    counts = run(db.url, "results", "submit", at_cell,
                 write(tmp_path, "HTXS,HTT,HT,KHT,not_classified,pending,total\n1,5,3,0,0,0,10\n"), now=NOW)
    assert counts.exit_code == 2 and "tổng các mức (9) khác số đảng viên (10)" in counts.stderr
    assert stored(db, at_cell) is None


def test_amend_completes_pending_members_as_a_supplement(db, tmp_path):
    at_cell_met(db)
    assert run(db.url, "results", "submit", CELL, write(tmp_path, GOOD), now=NOW).exit_code == 0
    wrong = run(db.url, "results", "amend", CELL,
                write(tmp_path, "name,level\nNguyễn Văn Tư,HT\nKhông Có,HT\n", "a.csv"), now=NOW)
    assert wrong.exit_code == 2
    assert "dòng 2, cột name: 'Nguyễn Văn Tư' đã được xếp loại (HTT)" in wrong.stderr
    assert "dòng 3, cột name: 'Không Có' không có" in wrong.stderr
    no_score = run(db.url, "results", "amend", CELL, write(tmp_path, "name,level\nPhạm Vắng,HT\n", "b.csv"),
                   now=NOW)
    assert no_score.exit_code == 1 and "SCORE_MISSING" in no_score.stderr
    amend = write(tmp_path, "name,level,score_general,score_tasks,tasks_total,tasks_on_time\n"
                            "Phạm Vắng,HT,20,35,4,4\n", "c.csv")
    ok = run(db.url, "results", "amend", CELL, amend, now=NOW)
    assert ok.exit_code == 0, ok.stderr
    row = stored(db)
    assert (row.count_pending, row.count_ht, row.supplement, row.valid) == (0, 1, True, True)
    with db.session() as s:
        m = s.scalar(select(MemberResult).where(MemberResult.name == "Phạm Vắng"))
        assert (m.level, m.absent, m.supplement, m.score_tasks) == ("HT", False, True, 35.0)
        assert s.scalar(select(func.count()).select_from(MemberResult)) == 8


def test_collective_level_from_the_parent_is_checked_against_the_members(db, tmp_path):
    at_cell_met(db)
    assert run(db.url, "results", "submit", CELL, write(tmp_path, GOOD), now=NOW).exit_code == 0
    low = run(db.url, "results", "level", CELL, "HT", now=NOW)
    assert low.exit_code == 1 and "HEAD_ABOVE_COLLECTIVE" in low.stderr and "Nguyễn Văn Tư" in low.stderr
    alone = run(db.url, "results", "level", CELL, "HTXS", now=NOW)  # no HTT cell beside it: 20% of 0
    assert alone.exit_code == 1 and "COLLECTIVE_QUOTA" in alone.stderr
    assert run(db.url, "results", "level", CELL, "HTT", now=NOW).exit_code == 0
    assert stored(db).collective_level == "HTT"
    parent = run(db.url, "results", "level", "GL-TS", "HTT", now=NOW)
    assert parent.exit_code == 0, parent.stderr
    assert stored(db, "GL-TS").form == "collective"
    assert run(db.url, "results", "level", "GL-TS", "PENDING", now=NOW).exit_code == 2


def test_a_parent_waits_for_valid_results_of_every_cell_below(db, tmp_path):
    seeded(db.url)
    cells = ["GL-PC-CH-T1", "GL-PC-CH-T2"]
    for cell in cells:
        for stage in ("reports_prepared", "cell_met"):
            run(db.url, "advance", cell, "--to", stage, now=NOW)
    run(db.url, "results", "submit", cells[0], write(tmp_path, GOOD), now=NOW)
    run(db.url, "advance", cells[0], "--to", "forms_submitted", now=NOW)
    forced = run(db.url, "advance", cells[1], "--to", "forms_submitted", "--force", "--reason", "giấy",
                 now=NOW)
    assert forced.exit_code == 0
    for stage in ("reports_prepared", "committee_met"):
        run(db.url, "advance", "GL-PC-CH", "--to", stage, now=NOW)
    refused = run(db.url, "advance", "GL-PC-CH", "--to", "forms_submitted", now=NOW)
    assert refused.exit_code == 1
    assert "còn 1 đơn vị cấp dưới chưa có kết quả xếp loại hợp lệ: GL-PC-CH-T2" in refused.stderr

"""`kiemdiem progress import`: many stages from a spreadsheet, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from kiemdiem.wording import say
from tests.helpers import SAMPLE_PLAN, SAMPLE_UNITS, run, submit_results
from workflow.clock import fixed_clock
from workflow.errors import Conflict
from workflow.models import AuditEntry, Cycle, Unit
from workflow.progress import ALIASES, ProgressImport
from workflow.service import CycleService
from workflow.stages import stages_of
from workflow.tabular import read_rows

NOW = "2026-11-21T09:00"


def seeded(db_url: str) -> None:
    """The sample units and the 2026 campaign, issued on 20/10/2026."""
    for args in (("init",), ("units", "import", str(SAMPLE_UNITS)),
                 ("campaign", "create", "2026", "--plan", str(SAMPLE_PLAN))):
        assert run(db_url, *args, now="2026-10-20T09:00").exit_code == 0


def _csv(tmp_path: Path, body: str, header: str = "Mã đơn vị,Bước,Ngày,Ghi chú",
         name: str = "tien_do.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + "\n" + body, encoding="utf-8")
    return path


def _state(db, code: str) -> str:
    with db.session() as s:
        return s.scalar(select(Cycle.state).join(Unit, Unit.id == Cycle.unit_id).where(Unit.code == code))


def _audit_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def test_a_row_naming_a_later_stage_records_every_stage_up_to_it(db, tmp_path):
    seeded(db.url)
    path = _csv(tmp_path, "GL-TS-T1,Họp chi bộ kiểm điểm, xếp loại,15/11/2026,theo báo cáo giấy\n"
                .replace("Họp chi bộ kiểm điểm, xếp loại", '"HỌP CHI BỘ KIỂM ĐIỂM, XẾP LOẠI"')
                + "GL-TS-T2,reports_prepared,2026-11-09,\n", header="mã đơn vị, BƯỚC ,Ngày,ghi chú")
    result = run(db.url, "--as", "văn phòng huyện", "progress", "import", str(path), now=NOW)
    assert result.exit_code == 0, result.stderr
    assert "Đã ghi 3 bước của 2 đơn vị từ 2 dòng" in result.stdout
    assert _state(db, "GL-TS-T1") == "cell_met" and _state(db, "GL-TS-T2") == "reports_prepared"
    with db.session() as s:
        entries = s.execute(select(AuditEntry.from_state, AuditEntry.to_state, AuditEntry.reached_at,
                                   AuditEntry.actor, AuditEntry.reason, AuditEntry.details)
                            .join(Unit, Unit.id == AuditEntry.unit_id)
                            .where(Unit.code == "GL-TS-T1", AuditEntry.action == "cycle.advance")
                            .order_by(AuditEntry.id)).all()
        version = s.scalar(select(Cycle.version).join(Unit, Unit.id == Cycle.unit_id)
                           .where(Unit.code == "GL-TS-T1"))
    noon = datetime(2026, 11, 15, 5, 0, tzinfo=UTC)  # 12:00 in Hà Nội
    assert [(e.from_state, e.to_state, e.reached_at) for e in entries] == [
        ("plan_issued", "reports_prepared", noon), ("reports_prepared", "cell_met", noon)]
    assert {e.actor for e in entries} == {"văn phòng huyện"} and entries[0].reason == "theo báo cáo giấy"
    assert entries[1].details == {"event": "hold_cell_meeting", "forced": None, "note": None,
                                  "reached_at": "2026-11-15T12:00:00+07:00",
                                  "source": "progress import", "line": 2}
    assert version == 2  # the optimistic version moved with the row
    # the status listing agrees: the cell now owes forms_submitted
    status = run(db.url, "status", "GL-TS-T1", "--json", now=NOW)
    assert '"next_stage": "forms_submitted"' in status.stdout


def test_an_xlsx_file_with_date_cells_imports_the_same(db, tmp_path):
    seeded(db.url)
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "stage", "date", "note"])
    sheet.append([None, None, None, None])  # a blank row is no row
    sheet.append(["GL-PC-CH-T1", "Chuẩn bị báo cáo kiểm điểm", datetime(2026, 11, 8), None])
    path = tmp_path / "tien_do.xlsx"
    book.save(path)
    result = run(db.url, "progress", "import", str(path), now=NOW)
    assert result.exit_code == 0, result.stderr
    assert _state(db, "GL-PC-CH-T1") == "reports_prepared"


def test_every_bad_row_is_listed_by_line_and_nothing_is_written(db, tmp_path):
    seeded(db.url)
    before = _audit_count(db)
    path = _csv(tmp_path, "\n".join([
        "GL-TS-T2,reports_prepared,2026-11-10,",      # 2: good, but not written
        "XX-99,reports_prepared,2026-11-10,",         # 3: unknown code
        "GL-TS-T1,committee_met,2026-11-10,",         # 4: a cell without committee
        "GL-TS-YT,reports_prepared,2026-11-30,",      # 5: in the future
        "GL-TS-TH,cell_met,2026-11-12,",              # 6: before its own reports_prepared (7)
        "GL-TS-TH,reports_prepared,2026-11-14,",      # 7
        "GL-PC-THPT2,reports_prepared,2026-10-01,",   # 8: before the campaign (20/10)
        "GL-CQD,họp lớp,2026-11-10,",                 # 9: no such stage
        "GL-CQD-BTC,reports_prepared,hôm qua,",       # 10: unreadable date
        "GL-TS-T2,reports_prepared,2026-11-11,",      # 11: the same stage twice
    ]) + "\n")
    result = run(db.url, "progress", "import", str(path), now=NOW)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    err = result.stderr
    assert "Tệp có 8 dòng sai; chưa ghi gì." in err
    for needle in ("dòng 3: không có đơn vị mã 'XX-99'", "dòng 4: đơn vị GL-TS-T1 không có bước",
                   "dòng 5: ngày 30/11/2026 chưa đến", "dòng 6: ngày 12/11/2026 của đơn vị GL-TS-TH trước",
                   "dòng 8: ngày 01/10/2026 của đơn vị GL-PC-THPT2 trước ngày bắt đầu đợt",
                   "dòng 9: không có bước 'họp lớp'", "dòng 10: ngày 'hôm qua' không đọc được",
                   "dòng 11: bước 'Chuẩn bị báo cáo kiểm điểm' (reports_prepared) của đơn vị GL-TS-T2 đã có ở dòng 2"):
        assert needle in err, needle
    lines = [int(x.split(":")[0].split()[-1]) for x in err.splitlines() if x.startswith("  - dòng")]
    assert lines == sorted(lines)
    assert _audit_count(db) == before and _state(db, "GL-TS-T2") == "plan_issued"


def test_a_missing_column_is_named(db, tmp_path):
    seeded(db.url)
    result = run(db.url, "progress", "import", str(_csv(tmp_path, "GL,x\n", header="Mã đơn vị,Bước")), now=NOW)
    assert result.exit_code == 2 and "thiếu cột date" in result.stderr


def test_a_stage_already_passed_is_reported_not_refused(db, tmp_path):
    seeded(db.url)
    run(db.url, "advance", "GL-TS-T1", "--to", "reports_prepared", now=NOW)
    path = _csv(tmp_path, "GL-TS-T1,reports_prepared,2026-11-09,\nGL-TS-T2,reports_prepared,2026-11-09,\n")
    result = run(db.url, "progress", "import", str(path), now=NOW)
    assert result.exit_code == 0, result.stderr
    assert "Đã hoàn thành từ trước (1 dòng" in result.stdout
    assert "dòng 2: đơn vị GL-TS-T1 đã qua bước 'Chuẩn bị báo cáo kiểm điểm'" in result.stdout
    assert _state(db, "GL-TS-T2") == "reports_prepared"


def test_a_dry_run_shows_the_changes_and_writes_nothing(db, tmp_path):
    seeded(db.url)
    before = _audit_count(db)
    path = _csv(tmp_path, "GL-TS-T1,cell_met,2026-11-15,\n")
    result = run(db.url, "progress", "import", str(path), "--dry-run", now=NOW)
    assert result.exit_code == 0, result.stderr
    assert "Sẽ ghi 2 bước của 1 đơn vị từ 1 dòng (chạy thử, chưa ghi gì)." in result.stdout
    assert "dòng 2: GL-TS-T1: reports_prepared → cell_met" in result.stdout
    assert _audit_count(db) == before and _state(db, "GL-TS-T1") == "plan_issued"


def test_children_and_their_parent_in_one_file_submit_in_order(db, tmp_path):
    seeded(db.url)
    for cell in ("GL-PC-CH-T1", "GL-PC-CH-T2"):
        run(db.url, "advance", cell, "--to", "reports_prepared", now=NOW)
        run(db.url, "advance", cell, "--to", "cell_met", now=NOW)
        submit_results(db.url, cell, now=NOW)
    # the parent's row comes first in the file; the children are still moved before it
    path = _csv(tmp_path, "GL-PC-CH,forms_submitted,2026-11-21,\nGL-PC-CH-T1,forms_submitted,2026-11-21,\n"
                "GL-PC-CH-T2,forms_submitted,2026-11-21,\n")
    result = run(db.url, "progress", "import", str(path), now=NOW)
    assert result.exit_code == 0, result.stderr
    assert _state(db, "GL-PC-CH") == "forms_submitted"
    assert _state(db, "GL-PC-CH-T1") == _state(db, "GL-PC-CH-T2") == "aggregated"


def _advance_through(db_url: str, code: str, flow: tuple[str, ...], state: str,
                     target: str) -> tuple[int, str]:
    """Run `advance` for each stage from after `state` up to `target`; the first failure."""
    for stage in flow[flow.index(state) + 1: flow.index(target) + 1] if target in flow else [target]:
        result = run(db_url, "advance", code, "--to", stage, now=NOW)
        if result.exit_code != 0:
            return result.exit_code, result.stderr
    return 0, ""


@pytest.mark.parametrize(("code", "target", "prepare"), [
    ("GL-TS-T1", "cell_met", None),                  # a jump over two stages: allowed
    ("GL-TS-T1", "committee_met", None),             # not in a committee-less cell's flow
    ("GL-TS-T1", "forms_submitted", None),           # no results yet: the results gate
    ("GL-PC-CH", "forms_submitted", None),           # children not yet submitted
    ("GL-TS-TH", "aggregated", "cell_met"),          # the parent has not submitted
    ("GL-PC-CH-T1", "forms_submitted", "results"),   # valid results: allowed
])
def test_the_import_refuses_exactly_what_advance_refuses(db, tmp_path, code, target, prepare):
    seeded(db.url)
    if prepare:
        for stage in ("reports_prepared", "cell_met"):
            run(db.url, "advance", code, "--to", stage, now=NOW)
        submit_results(db.url, code, now=NOW)
        if prepare == "cell_met":
            run(db.url, "advance", code, "--to", "forms_submitted", now=NOW)
    with db.session() as s:
        state, mask = s.execute(select(Cycle.state, Cycle.stages_mask).join(Unit, Unit.id == Cycle.unit_id)
                                .where(Unit.code == code)).one()
    dry = run(db.url, "progress", "import", str(_csv(tmp_path, f"{code},{target},2026-11-21,\n")),
              "--dry-run", now=NOW)
    exit_code, reason = _advance_through(db.url, code, stages_of(mask), state, target)
    assert (dry.exit_code == 0) == (exit_code == 0), (dry.stderr, reason)
    if exit_code == 1 and dry.exit_code == 1:  # a guard: the same sentence
        assert reason.split(": ", 2)[-1].strip() in dry.stderr


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_cycle_changed_between_reading_and_writing_refuses_the_whole_import(db, tmp_path):
    """On PostgreSQL a concurrent `advance` may commit after the import read the cycles: the
    version it read no longer matches, so nothing is written (SQLite lets one writer in)."""
    seeded(db.url)
    service = CycleService(db, fixed_clock(datetime(2026, 11, 21, 2, tzinfo=UTC)))

    class Interleaved(ProgressImport):
        def _apply_simple(self, session, campaign, plan, actor):  # GL-TS-T1 recorded meanwhile
            CycleService(db, service.clock).advance("GL-TS-T1", to="reports_prepared", actor="khác")
            super()._apply_simple(session, campaign, plan, actor)

    columns, rows = read_rows(_csv(tmp_path, "GL-TS-T1,cell_met,2026-11-15,\nGL-TS-T2,cell_met,2026-11-15,\n"),
                              aliases=ALIASES)
    with pytest.raises(Conflict) as refused:
        Interleaved(db, service).run(columns, rows, actor="văn phòng")
    assert "vừa được người khác thay đổi cùng lúc" in say(refused.value)
    assert _state(db, "GL-TS-T1") == "reports_prepared" and _state(db, "GL-TS-T2") == "plan_issued"

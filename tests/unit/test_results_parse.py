"""Reading results files: members or counts, CSV, XLSX and YAML; every problem named by row and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from kiemdiem.wording import said_problems, say
from workflow.errors import BadInput
from workflow.results.levels import HT, HTT, HTXS, KHT, NOT_CLASSIFIED, PENDING
from workflow.results.parse import read_results

HEADER = "name,role,is_head,level,votes_for,full_members_voting,admitted_on,sick_leave_months,absent,exempt\n"


def write(tmp_path: Path, text: str, name: str = "kq.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(BadInput) as err:
        read_results(path)
    assert "không lưu gì" in say(err.value) or err.value.problems
    return said_problems(err.value)


def test_members_csv_with_defaults_and_yes_no_spellings(tmp_path):
    path = write(tmp_path, HEADER
                 + "Nguyễn Văn A,Bí thư,có,HTT,9,10,,,,\n"
                 + "Trần Thị B,,không,htxsnv,8,10,,,0,false\n"
                 + "Lê C,,,,,,2026-09-01,,,\n"
                 + "Phạm D,,,,,,,,yes,\n"
                 + "Võ E,,,,,,,,,1\n"
                 + "Đỗ F,,,Hoàn thành nhiệm vụ,6,10,15/03/2010,3.5,,\n")
    sub = read_results(path)
    levels = [m.level for m in sub.members]
    assert levels == [HTT, HTXS, NOT_CLASSIFIED, PENDING, NOT_CLASSIFIED, HT]
    head = sub.members[0]
    assert head.is_head and head.role == "Bí thư" and head.votes_for == 9 and head.line == 2
    assert sub.members[5].admitted_on == date(2010, 3, 15) and sub.members[5].sick_leave_months == 3.5
    sheet = sub.sheet(date(2026, 11, 16), collective_level=HTT)
    assert sheet.counts.reasons == {"new_member": 1, "exempt": 1} and sheet.collective_level == HTT


def test_every_problem_is_listed_with_row_and_column(tmp_path):
    path = write(tmp_path, "name,level,votes_for,full_members_voting,score_general,score_tasks,"
                 "tasks_total,tasks_on_time,admitted_on,absent\n"
                 "A,XUẤT SẮC,,,,,,,,\n"
                 "B,HT,11,10,,,,,,\n"
                 "C,HT,,,31,71,,,,\n"
                 "D,HT,,,-1,20,5,6,,\n"
                 "E,HT,,,,,,,31/02/2026,\n"
                 "F,HT,,,,,,,,perhaps\n"
                 ",HT,,,,,,,,\n"
                 "B,HT,,,,,,,,\n"
                 "G,,,,,,,,,\n")
    found = problems(path)
    assert ("dòng 2, cột level: 'XUẤT SẮC' không phải mức xếp loại "
            "(HTXS, HTT, HT, KHT, NOT_CLASSIFIED, PENDING)") in found
    assert any(p.startswith("dòng 3, cột votes_for: số phiếu tán thành (11) lớn hơn") for p in found)
    assert "dòng 4, cột score_general: điểm 31 ngoài khoảng 0–30" in found
    assert "dòng 4, cột score_tasks: điểm 71 ngoài khoảng 0–70" in found
    assert "dòng 5, cột score_general: điểm -1 ngoài khoảng 0–30" in found
    assert "dòng 5, cột tasks_on_time: 6 lớn hơn tổng số nhiệm vụ (5)" in found
    assert any(p.startswith("dòng 6, cột admitted_on: '31/02/2026' không phải ngày") for p in found)
    assert any(p.startswith("dòng 7, cột absent: 'perhaps' không phải có/không") for p in found)
    assert "dòng 8, cột name: thiếu họ tên" in found
    assert "dòng 9, cột name: 'B' đã có ở dòng 3" in found
    assert any(p.startswith("dòng 10, cột level: thiếu mức xếp loại") for p in found)
    assert len(found) == 11


def test_unknown_column_is_refused(tmp_path):
    found = problems(write(tmp_path, "name,level,rank\nA,HT,1\n"))
    assert found[0].startswith("dòng 1, cột rank: cột không được biết")


def test_counts_csv_must_add_up(tmp_path):
    sub = read_results(write(tmp_path, "HTXS,HTT,HT,KHT,not_classified,pending,total,exempt\n"
                                       "2,10,5,1,2,1,21,1\n"))
    assert sub.members is None and sub.counts[HTT] == 10 and sub.counts.total == 21
    assert sub.counts.reasons == {"exempt": 1, "other": 1}
    found = problems(write(tmp_path, "HTXS,HTT,HT,KHT,not_classified,pending,total\n2,10,5,1,0,0,19\n"))
    assert found == ["dòng 2, cột total: tổng các mức (18) khác số đảng viên (19)"]
    found = problems(write(tmp_path, "HTXS,HTT,HT,KHT,not_classified,pending,exempt\n2,x,5,1,0,0,1\n"))
    assert "dòng 2, cột htt: 'x' không phải số" in found
    assert any("tổng các lý do (1)" in p for p in found)


def test_yaml_members_and_collective_level(tmp_path):
    path = write(tmp_path, "collective_level: HTT\nfounded_on: 2026-08-01\nmembers:\n"
                           "  - {name: A, level: HTT, is_head: có}\n"
                           "  - name: B\n    level: KHT\n    disciplined: true\n", "kq.yaml")
    sub = read_results(path)
    assert sub.collective_level == HTT and sub.founded_on == date(2026, 8, 1)
    assert [m.level for m in sub.members] == [HTT, KHT] and sub.members[1].disciplined
    bad = write(tmp_path, "collective_level: TOT\nmembers:\n  - {name: A, level: HT}\n"
                          "  - {name: B, level: HT, colour: red}\n", "bad.yaml")
    assert problems(bad)[0].startswith("dòng 4, cột colour: cột không được biết")
    bad = write(tmp_path, "collective_level: TOT\nmembers:\n  - {name: A, level: HTX}\n", "bad2.yaml")
    found = problems(bad)
    assert found[0].startswith("dòng 1, cột collective_level: 'TOT'")
    assert found[1].startswith("dòng 3, cột level")


def test_yaml_counts(tmp_path):
    sub = read_results(write(tmp_path, "counts: {HTXS: 1, HTT: 5, HT: 3, KHT: 0, pending: 1}\n", "c.yaml"))
    assert sub.counts[PENDING] == 1 and sub.counts.total == 10
    found = problems(write(tmp_path, "counts: {HTXS: 1}\nmembers: []\n", "both.yaml"))
    assert "members (danh sách) hoặc counts" in found[0]


def test_xlsx_members(tmp_path):
    book = Workbook()
    ws = book.active
    ws.append(["Name", "Level", "Admitted_on", "Votes_for", "Full_members_voting"])
    ws.append(["Nguyễn A", "HTT", None, 8, 10])
    ws.append(["Trần B", "KHT", date(2010, 1, 1), 6.0, 10])
    ws.append([None, None, None, None, None])
    path = tmp_path / "kq.xlsx"
    book.save(path)
    sub = read_results(path)
    assert [(m.name, m.level, m.votes_for, m.line) for m in sub.members] == [
        ("Nguyễn A", HTT, 8, 2), ("Trần B", KHT, 6, 3)]
    assert sub.members[1].admitted_on == date(2010, 1, 1)
    ws.append(["Lê C", "HTXS", None, 11, 10])
    book.save(path)
    assert problems(path)[0].startswith("dòng 5, cột votes_for")


def refusal(path: Path) -> str:
    with pytest.raises(BadInput) as err:
        read_results(path)
    return say(err.value)


def test_unreadable_files(tmp_path):
    assert "dùng .csv, .xlsx hoặc .yaml" in refusal(write(tmp_path, "x", "kq.txt"))
    assert "tệp trống" in refusal(write(tmp_path, "\n\n"))
    assert "không đọc được tệp Excel" in refusal(write(tmp_path, "not a zip", "kq.xlsx"))
    assert "không có tệp" in refusal(tmp_path / "missing.csv")

"""End to end: results for the sample tree, then the report in all four formats, agreeing."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.helpers import run, seeded
from workflow.results.levels import NAME

NOW = "2026-11-18T09:00"
LATER = "2026-12-10T09:00"
LEVELS = ("HTXS", "HTT", "HT", "KHT", "NOT_CLASSIFIED", "PENDING")
#: leaf -> (HTXS, HTT, HT, KHT, not_classified, pending, exempt), collective level
RESULTS = {
    "GL-CQD-BTC": ((2, 10, 3, 0, 1, 0, 1), "HTXS"),
    "GL-CQD-VP-TH": ((1, 5, 2, 0, 0, 1, 0), "HTT"),
    "GL-CQD-VP-QT": ((0, 4, 4, 1, 0, 0, 0), "HT"),
    "GL-PC-THPT2": ((3, 15, 6, 0, 2, 0, 0), None),
    "GL-PC-CH-T1": ((1, 6, 8, 2, 0, 0, 0), "HT"),
    "GL-PC-CH-T2": ((0, 3, 7, 1, 0, 1, 0), "HT"),
    "GL-TS-THCS": ((1, 8, 2, 0, 0, 0, 0), "HTT"),
    "GL-TS-TH": ((1, 5, 1, 0, 0, 0, 0), "HTT"),
    "GL-TS-T1": ((0, 2, 10, 1, 1, 0, 1), "HT"),
    "GL-TS-T2": ((0, 1, 3, 5, 0, 0, 0), "KHT"),
}  # GL-TS-YT sends nothing


def _submit_all(db, tmp_path):
    for code, (counts, level) in RESULTS.items():
        for stage in ("reports_prepared", "committee_met", "cell_met"):
            moved = run(db.url, "advance", code, "--to", stage, now=NOW)
            assert moved.exit_code == 0 or (stage == "committee_met" and "không áp dụng" in moved.stderr)
        path = tmp_path / f"{code}.csv"
        path.write_text("HTXS,HTT,HT,KHT,not_classified,pending,exempt\n"
                        + ",".join(map(str, counts)) + "\n", encoding="utf-8")
        args = ["results", "submit", code, str(path)] + (["--unit-level", level] if level else [])
        result = run(db.url, *args, now=NOW)
        assert result.exit_code == 0, (code, result.stderr)
        assert run(db.url, "advance", code, "--to", "forms_submitted", now=NOW).exit_code == 0
    for code, level in (("GL-TS", "HT"), ("GL-PC-CH", "HTT")):
        assert run(db.url, "results", "level", code, level, now=NOW).exit_code == 0


def _expected_members() -> dict[str, int]:
    return {lvl: sum(c[i] for c, _ in RESULTS.values()) for i, lvl in enumerate(LEVELS)}


def test_report_figures_agree_in_all_formats_and_with_the_children(db, tmp_path):
    seeded(db.url)
    _submit_all(db, tmp_path)
    result = run(db.url, "report", "GL", "--format", "json", now=LATER)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    expected = _expected_members()
    assert data["members"] == expected and data["rule_set"] == "qd366" and data["unit"] == "GL"
    assert data["cells"] == {"HTXS": 0, "HTT": 3, "HT": 4, "KHT": 1, "NOT_CLASSIFIED": 0, "PENDING": 0}
    # base organisations: GL-TS (HT), GL-PC-CH (HTT), GL-CQD-VP (no level yet), and the two
    # cells directly under a district (chi bộ cơ sở): BTC (HTXS), THPT2 (no level yet)
    assert data["bases"] == {"HTXS": 1, "HTT": 1, "HT": 1, "KHT": 0, "NOT_CLASSIFIED": 0, "PENDING": 2}
    assert data["without_results"] == 1 and data["not_classified_reasons"]["exempt"] == 2
    assert data["not_classified_reasons"]["other"] == 2
    assert data["missing"] == ["GL-CQD", "GL-PC", "GL-TS"]
    assert [row["code"] for row in data["late"]] == ["GL-TS"] and data["late"][0]["days_late"] == 5
    rated = sum(expected[lvl] for lvl in LEVELS[:4])
    assert data["percent"]["members"]["HTT"] == round(100 * expected["HTT"] / rated, 2)
    assert data["quota_used"]["members"]["allowed"] == int(0.2 * expected["HTT"])
    for kind in ("members", "cells", "bases"):
        assert data[kind] == {lvl: sum(c[kind][lvl] for c in data["children"]) for lvl in LEVELS}
    children = {c["code"]: c for c in data["children"]}
    assert set(children) == {"GL", "GL-CQD", "GL-PC", "GL-TS"} and children["GL"]["self"]
    assert children["GL-TS"]["without_results"] == 1

    # a base's own report equals its row in the province's
    everything = json.loads(run(db.url, "report", now=LATER).stdout)
    assert everything["unit"] is None and everything["members"] == expected
    assert everything["unit_name"] == "Đảng bộ tỉnh Gia Lai"  # the campaign's root, not "Toàn quốc"
    assert data["generated_at"] == "2026-12-10T09:00:00+07:00"
    assert [c["code"] for c in everything["children"]] == ["GL"] and everything["missing"] == ["GL"]
    ts = json.loads(run(db.url, "report", "GL-TS", now=LATER).stdout)
    assert ts["members"] == children["GL-TS"]["members"] and ts["missing"] == ["GL-TS-YT"]

    out = tmp_path / "bao_cao.csv"
    assert run(db.url, "report", "GL", "--format", "csv", "-o", str(out), now=LATER).exit_code == 0
    header, *rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert header == ["Phạm vi", "Mã đơn vị", "Tên đơn vị", "Đối tượng", "Mức xếp loại", "Số lượng", "Tỷ lệ (%)"]
    members = {r[4]: r for r in rows if r[:4] == ["Tổng số", "GL", "Đảng bộ tỉnh Gia Lai", "Đảng viên"]}
    assert [int(members[NAME[lvl]][5]) for lvl in LEVELS] == [expected[lvl] for lvl in LEVELS]
    assert float(members[NAME["HTT"]][6]) == data["percent"]["members"]["HTT"]
    assert members[NAME["PENDING"]][6] == ""  # no share for the unrated
    assert all(r[5].isdigit() for r in rows)  # counts are integers, never "12.0" or "12 (5%)"
    exempt = next(r for r in rows if r[3] == "Đảng viên không xếp loại" and r[4] == "Miễn công tác và sinh hoạt đảng")
    assert int(exempt[5]) == data["not_classified_reasons"]["exempt"] and exempt[0] == "Tổng số"
    by_child = [r for r in rows if r[0] != "Tổng số" and r[3] == "Đảng viên"]
    assert sum(int(r[5]) for r in by_child) == sum(expected.values())

    out = tmp_path / "bao_cao.xlsx"
    assert run(db.url, "report", "GL", "--format", "xlsx", "-o", str(out), now=LATER).exit_code == 0
    book = load_workbook(out)
    assert book.sheetnames == ["Tổng hợp", "Theo đơn vị", "Không xếp loại", "Xếp thấp hơn mức tối đa",
                               "Chưa gửi báo cáo"]
    assert book.properties.title.startswith("Tổng hợp kết quả đánh giá, xếp loại chất lượng năm 2026")
    summary = book["Tổng hợp"]
    assert summary["A1"].value == "Mức xếp loại" and summary["A1"].font.bold
    assert summary.freeze_panes == "A2" and summary.auto_filter.ref == "A1:G8"
    by_level = {summary.cell(r, 1).value: summary.cell(r, 2).value for r in range(2, 8)}
    assert by_level["Hoàn thành tốt nhiệm vụ"] == expected["HTT"]
    assert summary.cell(8, 1).value == "Tổng số" and summary.cell(8, 2).value == sum(expected.values())
    assert not any(c.font.bold for row in summary.iter_rows(min_row=2) for c in row)  # styled: the header only
    counts = list(book["Theo đơn vị"].iter_rows(min_row=2, values_only=True))
    assert sum(r[5] for r in counts if r[1] == "GL-TS" and r[3] == "Đảng viên") == sum(
        children["GL-TS"]["members"].values())
    missing = list(book["Chưa gửi báo cáo"].iter_rows(min_row=2, values_only=True))
    assert ("GL-TS", "Đảng bộ xã Trà Sơn", 5) in missing

    html = run(db.url, "report", "GL", "--format", "html", now=LATER).stdout
    assert "<title>Tổng hợp kết quả đánh giá, xếp loại chất lượng năm 2026" in html
    assert "size: A4" in html and "Quy định 366-QĐ/TW" in html
    assert f'<th class="n">{expected["HTT"]}</th>' in html and "GL-TS-YT" not in html
    assert "Gia Lai, ngày 10 tháng 12 năm 2026" in html and "Số liệu lập lúc 09:00 ngày 10/12/2026" in html
    assert "Đảng bộ xã Trà Sơn</td>" in html and "NOT_CLASSIFIED" not in html and "PENDING" not in html


def test_the_pdf_report_is_fit_to_sign(db, tmp_path):
    """Letterhead, place and date in local time, numbered parts with Vietnamese labels, the
    missing units by code and name, "Nơi nhận" and the signature block, fonts embedded."""
    seeded(db.url)
    _submit_all(db, tmp_path)
    out = tmp_path / "bao_cao.pdf"
    result = run(db.url, "report", "GL-TS", "--format", "pdf", "-o", str(out), now="2026-12-10T23:30")
    assert result.exit_code == 0, result.stderr
    pdf = PdfReader(out)
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    for words in ("ĐẢNG BỘ TỈNH GIA LAI", "ĐẢNG BỘ XÃ TRÀ SƠN", "ĐẢNG CỘNG SẢN VIỆT NAM",
                  "Trà Sơn, ngày 10 tháng 12 năm 2026", "BÁO CÁO", "I. KẾT QUẢ XẾP LOẠI",
                  "Hoàn thành xuất sắc nhiệm vụ", "Không hoàn thành nhiệm vụ", "Quy định 366-QĐ/TW",
                  "GL-TS-YT", "Chi bộ Trạm Y tế xã", "Nơi nhận:", "Đảng bộ tỉnh Gia Lai (để báo cáo)",
                  "T/M BAN THƯỜNG VỤ", "BÍ THƯ"):
        assert words in text, words
    assert "ngày 11 tháng 12" not in text  # 23:30 local is still the 10th (16:30 UTC)
    fonts = [_descriptor(font.get_object()) for page in pdf.pages
             for font in page["/Resources"]["/Font"].get_object().values()]
    assert fonts and all("/FontFile2" in d or "/FontFile3" in d for d in fonts), "a font is not embedded"
    assert len(pdf.pages) <= 2
    assert run(db.url, "report", "GL", "--format", "pdf", now=LATER).exit_code == 2  # a PDF needs -o


def _descriptor(font):
    """A PDF font's descriptor (a composite font keeps it in its descendant)."""
    if "/DescendantFonts" in font:
        font = font["/DescendantFonts"][0].get_object()
    return font["/FontDescriptor"].get_object()


def test_reopen_marks_the_report_stale(db, tmp_path):
    seeded(db.url)
    _submit_all(db, tmp_path)
    for stage in ("reports_prepared", "committee_met"):
        run(db.url, "advance", "GL-PC-CH", "--to", stage, now=NOW)
    assert run(db.url, "advance", "GL-PC-CH", "--to", "forms_submitted", now=NOW).exit_code == 0
    assert run(db.url, "reopen", "GL-PC-CH-T2", "--reason", "Sai tỷ lệ", now=NOW).exit_code == 0
    data = json.loads(run(db.url, "report", "GL-PC-CH", now=LATER).stdout)
    assert data["stale"] is True and data["members"]["PENDING"] == 1


def test_report_refuses_unknown_units_and_formats(db):
    seeded(db.url)
    assert run(db.url, "report", "NOPE", now=NOW).exit_code == 2
    assert run(db.url, "report", "GL", "--format", "docx", now=NOW).exit_code == 2
    empty = json.loads(run(db.url, "report", "GL-TS", now=NOW).stdout)
    assert empty["members"]["HT"] == 0 and empty["without_results"] == 5
    assert empty["percent"]["members"]["HT"] == 0.0

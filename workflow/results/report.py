"""Render a roll-up in the offices' formats: JSON, CSV, XLSX (openpyxl) and HTML (Jinja2, A4).

Every format is built from the one dictionary `report_data` returns, so they cannot
disagree; the totals are the sum of the per-child rows (the unit itself is its own row).
Headings are Vietnamese; member names never appear here, only counts.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from workflow.notices import local_iso
from workflow.results.levels import ALL, NAME, RATED
from workflow.results.rollup import Rollup, Tally, percentages, quota_used
from workflow.results.sheet import REASON_NAME

FORMATS = ("json", "csv", "xlsx", "html")
KIND_NAME = {"members": "Đảng viên", "cells": "Chi bộ trực thuộc", "bases": "Tổ chức cơ sở đảng"}
RULE_SET_NAME = {"qd124": "Quy định 124-QĐ/TW", "qd366": "Quy định 366-QĐ/TW"}
TEMPLATES = Path(__file__).parent / "templates"
NATIONAL = "Toàn quốc"


def _tally_dict(tally: Tally) -> dict[str, Any]:
    return {"members": dict(tally.members), "cells": dict(tally.cells), "bases": dict(tally.bases),
            "without_results": tally.without_results}


def report_data(r: Rollup) -> dict[str, Any]:
    """The report as plain data: the JSON shape of DESIGN.md plus percentages and the breakdown."""
    t, quota = r.total, r.campaign.excellent_quota
    zone = ZoneInfo(r.campaign.timezone)  # every instant in the campaign's zone (+07:00)
    unit = r.unit
    return {
        "unit": unit.code if unit else None, "unit_name": unit.name if unit else NATIONAL,
        "level": unit.level if unit else None, "year": r.campaign.year,
        "rule_set": r.campaign.rule_set, "excellent_quota": quota,
        "generated_at": local_iso(r.generated_at, zone), "stale": r.stale,
        "members": dict(t.members), "cells": dict(t.cells), "bases": dict(t.bases),
        "percent": {kind: percentages(getattr(t, kind)) for kind in KIND_NAME},
        "quota_used": {kind: quota_used(getattr(t, kind), quota) for kind in KIND_NAME},
        "not_classified_reasons": dict(t.reasons),
        "without_results": t.without_results, "invalid": t.invalid, "supplements": t.supplements,
        "missing": r.missing,
        "late": [{**row, "deadline": local_iso(row["deadline"], zone)} for row in r.late],
        "children": [{"code": u.code, "name": u.name, "level": u.level,
                      "self": unit is not None and u.id == unit.id, **_tally_dict(tally)}
                     for u, tally in r.children],
    }


def render(data: dict[str, Any], fmt: str) -> bytes:
    """The report in `fmt` (one of FORMATS) as bytes to write to a file or stdout."""
    if fmt == "json":
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
    if fmt == "csv":
        return _csv(data).encode("utf-8-sig")
    if fmt == "xlsx":
        return _xlsx(data)
    if fmt == "html":
        return _html(data).encode()
    raise ValueError(f"unknown format '{fmt}' ({', '.join(FORMATS)})")


def _title(data: dict[str, Any]) -> str:
    return f"Tổng hợp kết quả đánh giá, xếp loại chất lượng năm {data['year']} — {data['unit_name']}"


def _line(part: str, code: str, name: str, values: dict[str, Any], total: bool = True) -> list[Any]:
    return [part, code, name, *(values.get(lvl, "") for lvl in ALL), sum(values.values()) if total else ""]


def _table_rows(data: dict[str, Any]) -> list[list[Any]]:
    """Rows shared by CSV and XLSX: totals, percentages and the breakdown per child."""
    rows: list[list[Any]] = []
    code = data["unit"] or ""
    for kind, label in KIND_NAME.items():
        rows.append(_line(label, code, data["unit_name"], data[kind]))
        rows.append(_line(f"{label} (%)", code, data["unit_name"], data["percent"][kind], False))
    for child in data["children"]:
        for kind, label in KIND_NAME.items():
            if any(child[kind].values()):
                rows.append(_line(f"{label} — theo đơn vị", child["code"], child["name"], child[kind]))
    return rows


HEADER = ["Phần", "Mã đơn vị", "Tên đơn vị", *(NAME[lvl] for lvl in ALL), "Tổng số"]


def _csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(_table_rows(data))
    for reason, count in data["not_classified_reasons"].items():
        writer.writerow([f"Không xếp loại: {REASON_NAME[reason]}", data["unit"] or "", data["unit_name"],
                         *[""] * len(ALL), count])
    for code in data["missing"]:
        writer.writerow(_line("Chưa gửi báo cáo", code, "", {}, False))
    for row in data["late"]:
        writer.writerow(_line(f"Quá hạn {row['days_late']} ngày", row["code"], row["name"], {}, False))
    return out.getvalue()


def _xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook  # slow to import; only this format needs it
    from openpyxl.styles import Alignment, Font, PatternFill

    bold, fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="9C0006")

    def header(ws: Any, row: int, values: list[str]) -> None:
        ws.append(values)
        for cell in ws[row]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")

    def widths(ws: Any, sizes: list[int]) -> None:
        for i, size in enumerate(sizes):
            ws.column_dimensions[chr(ord("A") + i)].width = size

    book = Workbook()
    ws = book.active
    ws.title = "Tổng hợp"
    ws.append([_title(data)])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([f"Quy định: {RULE_SET_NAME.get(data['rule_set'], data['rule_set'])}; tỷ lệ HTXS tối đa "
               f"{data['excellent_quota'] * 100:g}% số HTT"])
    header(ws, 3, ["Mức xếp loại", "Đảng viên", "Tỷ lệ (%)", "Chi bộ trực thuộc", "Tỷ lệ (%)",
                   "Tổ chức cơ sở đảng", "Tỷ lệ (%)"])
    for lvl in ALL:
        ws.append([NAME[lvl], *(v for kind in KIND_NAME
                                for v in (data[kind][lvl], data["percent"][kind].get(lvl)))])
    ws.append(["Tổng số", *(v for kind in KIND_NAME for v in (sum(data[kind].values()), None))])
    ws.append([])
    header(ws, ws.max_row + 1, ["Không xếp loại: lý do", "Số đảng viên"])
    for reason, count in data["not_classified_reasons"].items():
        ws.append([REASON_NAME[reason], count])
    ws.append([])
    header(ws, ws.max_row + 1, ["Đơn vị chưa gửi báo cáo", "Quá hạn (ngày)"])
    late = {row["code"]: row["days_late"] for row in data["late"]}
    for code in data["missing"]:
        ws.append([code, late.get(code)])
    widths(ws, [34, 14, 11, 18, 11, 20, 11])
    ws.freeze_panes = "A4"

    detail = book.create_sheet("Theo đơn vị")
    header(detail, 1, HEADER)
    for row in _table_rows(data):
        detail.append(row)
    widths(detail, [30, 16, 40, *[16] * len(ALL), 10])
    detail.freeze_panes = "D2"

    for lvl in ALL:
        sheet = book.create_sheet(lvl)
        header(sheet, 1, ["Mã đơn vị", "Tên đơn vị", f"Đảng viên {lvl}", f"Chi bộ {lvl}", f"TCCS đảng {lvl}"])
        for child in data["children"]:
            sheet.append([child["code"], child["name"], child["members"][lvl], child["cells"][lvl],
                          child["bases"][lvl]])
        sheet.append(["Tổng số", "", data["members"][lvl], data["cells"][lvl], data["bases"][lvl]])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        widths(sheet, [16, 40, 14, 12, 14])
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _html(data: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(
        data=data, title=_title(data), levels=ALL, rated=RATED, names=NAME, kinds=KIND_NAME,
        reasons=REASON_NAME, rule_set=RULE_SET_NAME.get(data["rule_set"], data["rule_set"]))

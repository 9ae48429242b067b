"""Render a roll-up in the offices' formats: JSON, CSV, XLSX, HTML and PDF.

Every format is built from the one dictionary `report_data` returns, so they cannot
disagree; the totals are the sum of the per-child rows (the unit itself is its own row).
Headings are Vietnamese; member names never appear here, only counts. The HTML (and the PDF
made from it with WeasyPrint) has the shape of a party committee's report: letterhead, place
and date, numbered parts, "Nơi nhận" and a signature block left blank to sign.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from workflow.errors import BadInput
from workflow.notices import local_iso
from workflow.results.levels import ALL, NAME, RATED
from workflow.results.rollup import Rollup, Tally, percentages, quota_used
from workflow.results.sheet import REASON_NAME
from workflow.spreadsheet import Column, XlsxWriter, write_csv

FORMATS = ("json", "csv", "xlsx", "html", "pdf")
KIND_NAME = {"members": "Đảng viên", "cells": "Chi bộ trực thuộc", "bases": "Tổ chức cơ sở đảng"}
RULE_SET_NAME = {"qd124": "Quy định 124-QĐ/TW", "qd366": "Quy định 366-QĐ/TW"}
TEMPLATES = Path(__file__).parent / "templates"
NATIONAL = "Toàn quốc"
LOWER_NAME = {"quota": "Vì tỷ lệ hoàn thành xuất sắc nhiệm vụ", "ground": "Có căn cứ không hoàn thành nhiệm vụ",
              "other": "Lý do khác"}
NOT_CLASSIFIED_GROUP = "Đảng viên không xếp loại"
LOWERED_GROUP = "Đảng viên xếp thấp hơn mức tối đa"
#: The abbreviations party reports use where a table has no room for the levels' names.
SHORT_NAME = {"HTXS": "HTXSNV", "HTT": "HTTNV", "HT": "HTNV", "KHT": "KHTNV",
              "NOT_CLASSIFIED": "Không xếp loại", "PENDING": "Chưa xếp loại"}
#: Words before a place's own name in a party organisation's name, longest first.
PLACE_PREFIXES = ("đảng bộ thành phố", "đảng bộ tỉnh", "đảng bộ huyện", "đảng bộ thị xã",
                  "đảng bộ quận", "đảng bộ xã", "đảng bộ phường", "thành phố", "tỉnh")


@dataclass(frozen=True)
class Heading:
    """What the signed report says around the figures: who issues it (the letterhead's
    superior organisation above the unit), where, who signs and who receives it."""

    place: str
    superior: str | None = None
    signer: str = "T/M BAN THƯỜNG VỤ"
    signer_title: str = "BÍ THƯ"
    recipients: list[str] = field(default_factory=list)


def place_of(names: Sequence[str]) -> str:
    """The place a report is dated at, from the names of the unit and then its ancestors: the
    first that names a place ("Đảng bộ xã Trà Sơn" → "Trà Sơn"), else the last (the root)."""
    for name in names:
        lowered = name.casefold()
        for prefix in PLACE_PREFIXES:
            if lowered.startswith(prefix + " "):
                return name[len(prefix) + 1:].strip()
    return names[-1] if names else NATIONAL


def _tally_dict(tally: Tally) -> dict[str, Any]:
    return {"members": dict(tally.members), "cells": dict(tally.cells), "bases": dict(tally.bases),
            "without_results": tally.without_results}


def _scope_name(r: Rollup) -> str:
    """The report's name when no unit was asked for: the campaign's single root, else national."""
    if r.unit is not None:
        return r.unit.name
    return r.children[0][0].name if len(r.children) == 1 else NATIONAL


def report_data(r: Rollup) -> dict[str, Any]:
    """The report as plain data: the JSON shape the README documents plus percentages and the breakdown.

    Instants are ISO 8601 in the campaign's time zone, as every instant people read."""
    t, quota = r.total, r.campaign.excellent_quota
    unit = r.unit
    zone = ZoneInfo(r.campaign.timezone)
    late = {row["code"]: row for row in r.late}
    return {
        "unit": unit.code if unit else None, "unit_name": _scope_name(r),
        "level": unit.level if unit else None, "year": r.campaign.year,
        "campaign_title": r.campaign.title, "timezone": r.campaign.timezone,
        "rule_set": r.campaign.rule_set, "excellent_quota": quota,
        "generated_at": local_iso(r.generated_at, zone), "stale": r.stale,
        "members": dict(t.members), "cells": dict(t.cells), "bases": dict(t.bases),
        "percent": {kind: percentages(getattr(t, kind)) for kind in KIND_NAME},
        "quota_used": {kind: quota_used(getattr(t, kind), quota) for kind in KIND_NAME},
        "not_classified_reasons": dict(t.reasons),
        "lowered": dict(t.lowered),
        "without_results": t.without_results, "invalid": t.invalid, "supplements": t.supplements,
        "missing": [code for code, _name in r.missing],
        "missing_units": [{"code": code, "name": name,
                           "days_late": late[code]["days_late"] if code in late else None}
                          for code, name in r.missing],
        "late": [{**row, "deadline": local_iso(row["deadline"], zone)} for row in r.late],
        "children": [{"code": u.code, "name": u.name, "level": u.level,
                      "self": unit is not None and u.id == unit.id, **_tally_dict(tally)}
                     for u, tally in r.children],
    }


def render(data: dict[str, Any], fmt: str, heading: Heading | None = None) -> bytes:
    """The report in `fmt` (one of FORMATS) as bytes to write to a file or stdout."""
    if fmt == "json":
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
    if fmt == "csv":
        return _csv(data)
    if fmt == "xlsx":
        return _xlsx(data)
    heading = heading or Heading(place=place_of([data["unit_name"]]))
    if fmt == "html":
        return _html(data, heading).encode()
    if fmt == "pdf":
        return _pdf(_html(data, heading))
    raise ValueError(f"unknown format '{fmt}' ({', '.join(FORMATS)})")


def _zone(data: dict[str, Any]) -> ZoneInfo:
    return ZoneInfo(data["timezone"])


def _rule_line(data: dict[str, Any]) -> str:
    return (f"Theo {RULE_SET_NAME.get(data['rule_set'], data['rule_set'])}; tỷ lệ hoàn thành xuất sắc "
            f"nhiệm vụ tối đa {data['excellent_quota'] * 100:g}% số hoàn thành tốt nhiệm vụ")


def _title(data: dict[str, Any]) -> str:
    return f"Tổng hợp kết quả đánh giá, xếp loại chất lượng năm {data['year']} — {data['unit_name']}"


def _count_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The tidy table shared by CSV and XLSX: one row per (scope, unit, group, level) with its
    count and, for the four rated levels, its share of the rated in percent (a separate
    number). The scope tells the total under the unit from the unit's own row and its children.
    The members not classified (by reason) and rated below their ceiling (by ground) follow as
    groups of the total."""
    rows: list[list[Any]] = []
    units = [(SCOPE_TOTAL, data["unit"] or "", data["unit_name"], data, data["percent"])]
    units += [(SCOPE_SELF if c["self"] else SCOPE_CHILD, c["code"], c["name"], c,
               {k: percentages(c[k]) for k in KIND_NAME}) for c in data["children"]]
    for scope, code, name, counts, percent in units:
        for kind, group in KIND_NAME.items():
            for lvl in ALL:
                rows.append([scope, code, name, group, NAME[lvl], counts[kind][lvl], percent[kind].get(lvl)])
    total = [SCOPE_TOTAL, data["unit"] or "", data["unit_name"]]
    rows += [[*total, NOT_CLASSIFIED_GROUP, REASON_NAME[reason], count, None]
             for reason, count in data["not_classified_reasons"].items()]
    rows += [[*total, LOWERED_GROUP, LOWER_NAME[kind], count, None] for kind, count in data["lowered"].items()]
    return rows


SCOPE_TOTAL, SCOPE_SELF, SCOPE_CHILD = "Tổng số", "Trực tiếp của đơn vị", "Đơn vị trực thuộc"
COUNT_COLUMNS = (Column("Phạm vi", width=20), Column("Mã đơn vị"), Column("Tên đơn vị", width=40),
                 Column("Đối tượng", width=20), Column("Mức xếp loại", width=30),
                 Column("Số lượng", "number", 10), Column("Tỷ lệ (%)", "number", 10, "0.00"))


def _csv(data: dict[str, Any]) -> bytes:
    return write_csv(COUNT_COLUMNS, _count_rows(data), _zone(data))


def _xlsx(data: dict[str, Any]) -> bytes:
    """Sheets with Vietnamese names, each a table with its header in row 1, bold, frozen,
    filtered and printed landscape one page wide: the summary, the tidy counts per unit, the
    reasons for not classifying, and the children yet to report."""
    book = XlsxWriter(_zone(data), title=_title(data), subject=_rule_line(data))
    summary_columns = [Column("Mức xếp loại", width=32)]
    for group in KIND_NAME.values():
        summary_columns += [Column(group, "number", 14), Column("Tỷ lệ (%)", "number", 10, "0.00")]
    summary = [[NAME[lvl], *(v for kind in KIND_NAME for v in (data[kind][lvl], data["percent"][kind].get(lvl)))]
               for lvl in ALL]
    summary.append(["Tổng số", *(v for kind in KIND_NAME for v in (sum(data[kind].values()), None))])
    book.sheet("Tổng hợp", summary_columns, summary)
    book.sheet("Theo đơn vị", COUNT_COLUMNS, _count_rows(data))
    book.sheet("Không xếp loại", (Column("Lý do", width=44), Column("Số đảng viên", "number", 14)),
               ([REASON_NAME[reason], count] for reason, count in data["not_classified_reasons"].items()))
    book.sheet("Xếp thấp hơn mức tối đa", (Column("Căn cứ", width=44), Column("Số đảng viên", "number", 14)),
               ([LOWER_NAME[kind], count] for kind, count in data["lowered"].items()))
    book.sheet("Chưa gửi báo cáo", (Column("Mã đơn vị"), Column("Tên đơn vị", width=40),
                                     Column("Quá hạn (ngày)", "number", 14)),
               ([u["code"], u["name"], u["days_late"]] for u in data["missing_units"]))
    return book.save()


def _html(data: dict[str, Any], heading: Heading) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    made = datetime.fromisoformat(data["generated_at"])
    return env.get_template("report.html.j2").render(
        data=data, title=_title(data), heading=heading, levels=ALL, rated=RATED, names=NAME,
        kinds=KIND_NAME, reasons=REASON_NAME, short=SHORT_NAME, lowered=LOWER_NAME,
        rule_set=RULE_SET_NAME.get(data["rule_set"], data["rule_set"]),
        dated=f"{heading.place}, ngày {made.day:02d} tháng {made.month:02d} năm {made.year}",
        made_at=f"{made:%H:%M} ngày {made:%d/%m/%Y}")


def _pdf(html: str) -> bytes:
    """Print the HTML report to PDF with WeasyPrint; its fonts are embedded (subsets)."""
    try:
        from weasyprint import HTML
    except OSError as exc:  # the Python package is there, the Pango library it needs is not
        raise BadInput("report.pango_missing", reason=str(exc)) from exc
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()

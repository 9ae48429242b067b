"""The late list as CSV and XLSX, through the project's one spreadsheet writer (safe cells,
header in the first row, dates as dates, phones as text)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from kiemdiem.web.labels import deadline, stage_label
from workflow.spreadsheet import Column, XlsxWriter, write_csv

COLUMNS = (Column("Mã đơn vị"), Column("Tên đơn vị", width=40), Column("Cấp", width=22),
           Column("Giai đoạn", width=34), Column("Hạn", width=28), Column("Ngày hạn", "date", 12),
           Column("Số ngày trễ", "number", 12), Column("Bí thư", width=24),
           Column("Điện thoại", "phone", 14), Column("Email", width=30))


def _cells(row: dict[str, Any], level_label: Callable[[str], str]) -> list[Any]:
    return [row["unit"], row["name"], level_label(row["level"]), stage_label(row["stage"]),
            deadline(row["deadline"]), row["deadline"].plan_date, row["days_late"],
            row["secretary"], row["phone"], row["email"]]


def late_csv(rows: Sequence[dict[str, Any]], level_label: Callable[[str], str], zone: ZoneInfo) -> bytes:
    return write_csv(COLUMNS, (_cells(row, level_label) for row in rows), zone)


def late_xlsx(rows: Sequence[dict[str, Any]], level_label: Callable[[str], str], zone: ZoneInfo,
              title: str, filters: str) -> bytes:
    """One sheet of late units; the title and the filters are the workbook's properties."""
    book = XlsxWriter(zone, title=title, subject=filters)
    book.sheet("Đơn vị chậm", COLUMNS, (_cells(row, level_label) for row in rows))
    return book.save()

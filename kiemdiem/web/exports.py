"""The late list as CSV (UTF-8 with BOM, so Excel shows the diacritics) and as XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from kiemdiem.web.labels import deadline, stage_label

HEADERS = ("Mã đơn vị", "Tên đơn vị", "Cấp", "Giai đoạn", "Hạn", "Số ngày trễ", "Bí thư",
           "Điện thoại", "Email")


def _cells(row: dict[str, Any], level_label: Callable[[str], str]) -> list[Any]:
    return [row["unit"], row["name"], level_label(row["level"]), stage_label(row["stage"]),
            deadline(row["deadline"]), row["days_late"], row["secretary"] or "",
            row["phone"] or "", row["email"] or ""]


def late_csv(rows: Sequence[dict[str, Any]], level_label: Callable[[str], str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(_cells(row, level_label))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def late_xlsx(rows: Sequence[dict[str, Any]], level_label: Callable[[str], str], title: str) -> bytes:
    """Write a one-sheet workbook (write-only mode: constant memory for 100,000 rows)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Đơn vị chậm")
    for column, width in zip("ABCDEFGHI", (16, 40, 22, 34, 17, 12, 24, 14, 30), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append([title])
    sheet.append([_bold(sheet, text) for text in HEADERS])
    for row in rows:
        sheet.append(_cells(row, level_label))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bold(sheet: Any, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.font = Font(bold=True)
    return cell

"""CSV and XLSX files that an office opens in Excel or LibreOffice and reads as data.

Every file the project writes for people goes through here, so three promises hold in one
place:
- a cell that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) is text, never evaluated
  (OWASP "CSV injection"): a unit named `=HYPERLINK(…)` stays a name — in XLSX a typed
  string cell, in CSV behind a leading apostrophe as OWASP recommends;
- phones and codes stay text (a leading 0 is never lost; in CSV a phone is grouped as
  people write it, "0912 000 003", since a CSV cell has no type), dates and instants are dates
  (real date cells in XLSX, ISO 8601 in CSV, which no locale reads as 11 October), numbers
  are numbers;
- the header is the first row, so `pandas.read_excel`, filters and sorting see the columns;
  titles and filters go into the workbook's properties instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Kind = Literal["text", "phone", "number", "date", "datetime"]
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One column: its header, what its cells hold and how wide it shows (in characters)."""

    header: str
    kind: Kind = "text"
    width: int = 16
    number_format: str | None = None  # e.g. "0.00" for a percentage


def neutralise(value: str) -> str:
    """Make a text that a spreadsheet would evaluate inert, by a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    """The wall-clock time in `zone` (spreadsheets have no time zones)."""
    return value.astimezone(zone).replace(tzinfo=None)


def csv_value(value: Any, kind: Kind, zone: ZoneInfo) -> Any:
    if value is None or value == "":
        return ""
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(zone).isoformat(timespec="minutes")
    if kind in ("date", "datetime") and isinstance(value, date):
        return value.isoformat()
    if kind == "number":
        return value
    if kind == "phone":
        return phone_text(str(value))
    return neutralise(str(value))


def phone_text(phone: str) -> str:
    """A phone as people write it, "0912 000 003": a CSV has no types, and spreadsheets read
    a bare "0912000003" as the number 912000003; grouped, it stays text and whole."""
    if phone.isdigit() and len(phone) == 10:
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    return neutralise(phone)


def write_csv(columns: Sequence[Column], rows: Iterable[Sequence[Any]], zone: ZoneInfo) -> bytes:
    """UTF-8 with a BOM (so Excel shows the diacritics), the header first, cells made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([csv_value(v, c.kind, zone) for c, v in zip(columns, row, strict=True)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class XlsxWriter:
    """A workbook of sheets made for work: header in row 1, bold and frozen, an autofilter,
    column widths, landscape A4 fitted to one page wide with the header repeated on every
    printed page. Write-only underneath: memory stays flat for 100,000 rows."""

    def __init__(self, zone: ZoneInfo, *, title: str = "", subject: str = "") -> None:
        self.book = Workbook(write_only=True)
        self.book.properties.title = title or None
        self.book.properties.subject = subject or None
        self.book.properties.creator = "kiemdiem"
        self.zone = zone

    def sheet(self, name: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
        """Add a sheet (its name cut to Excel's 31 characters); return how many rows it holds."""
        ws = self.book.create_sheet(name[:31])
        for i, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.append([self._header(ws, c.header) for c in columns])
        count = 0
        for row in rows:
            ws.append([self._cell(ws, v, c) for c, v in zip(columns, row, strict=True)])
            count += 1
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
        return count

    def _header(self, ws: Any, text: str) -> Cell:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell

    def _cell(self, ws: Any, value: Any, column: Column) -> Any:
        if value is None or value == "":
            return None
        if column.kind == "number":
            if column.number_format is None:
                return value
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = column.number_format
            return cell
        if column.kind in ("date", "datetime") and isinstance(value, date):
            # openpyxl writes a date as well as a datetime; its stubs name only datetime
            when: Any = _local(value, self.zone) if isinstance(value, datetime) else value
            cell = WriteOnlyCell(ws, value=when)
            cell.number_format = DATETIME_FORMAT if column.kind == "datetime" else DATE_FORMAT
            return cell
        cell = WriteOnlyCell(ws, value=str(value))
        # a string cell, whatever it starts with: the name is shown as written and a leading
        # "=" is never a formula (quotePrefix keeps it text when someone edits the cell)
        cell.data_type = "s"
        cell.quotePrefix = True
        cell.number_format = "@"  # text: "0912000003" keeps its 0, a code is never a number
        return cell

    def save(self) -> bytes:
        out = io.BytesIO()
        self.book.save(out)
        return out.getvalue()

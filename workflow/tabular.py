"""Read the rows of the files offices really make, with their line numbers; parse yes/no cells.

Offices export unit lists, progress and results from Excel or LibreOffice, typed with
Unikey: CSV separated by commas, semicolons (Excel with a Vietnamese locale) or tabs
(Excel's "Unicode Text", UTF-16); UTF-8 with or without BOM or a legacy Vietnamese code
page (Windows-1258, TCVN3…); `.xlsx` workbooks; headers in Vietnamese or upper case;
Vietnamese in decomposed form ("tổ hợp"). `read_rows` turns all of them into the same
rows: every text NFC-normalised and stripped, blank and all-empty rows skipped, header
cells mapped to canonical column names. Every row keeps the line it came from, so an
error can say "dòng 14" and the user can find it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.yamlfile import load_yaml
from workflow.errors import BadInput

TRUE = {"yes", "y", "true", "1", "có", "co", "x"}
FALSE = {"no", "n", "false", "0", "không", "khong", ""}
#: the values a yes/no cell accepts, as a problem lists them (the file's words: not translated)
YES_NO = "yes/no, true/false, 1/0, có/không"

#: the delimiters a spreadsheet writes a CSV with, in order of preference on a tie
DELIMITERS = (",", ";", "\t")
#: code pages a Vietnamese office file may be in when it is not Unicode: the detector picks
#: among these (left to itself it takes Windows-1258's bytes for a Western code page)
LEGACY_ENCODINGS = ("cp1258", "cp1252", "latin_1")
#: characters no spreadsheet writes into a CSV: a binary file decoded by mistake
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
#: bytes sampled to detect a legacy encoding
DETECT_SAMPLE = 1 << 20


@dataclass(frozen=True)
class Row:
    """One record of an input file and the line it starts on."""

    line: int
    values: dict[str, Any]


def nfc(text: str) -> str:
    """Return `text` stripped, in Unicode NFC (Unikey's decomposed "tổ hợp" composed)."""
    text = text.strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def header_key(text: str) -> str:
    """The form header cells are compared in: NFC, case-folded, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", str(text)).casefold().split())


def _unaccented(key: str) -> str:
    """`header_key` without diacritics, so "Ma don vi" finds "Mã đơn vị"."""
    decomposed = unicodedata.normalize("NFD", key.replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def read_rows(path: Path, *, aliases: Mapping[str, str] | None = None,
              encoding: str | None = None) -> tuple[list[str], list[Row]]:
    """Return the column names and rows of a `.csv`, `.xlsx`, `.yaml` or `.yml` file.

    Header cells are mapped to canonical names through `aliases` (header → canonical name,
    compared case-insensitively, with or without diacritics); a canonical name is always
    accepted as itself, and an unknown header is kept as written (the caller names it).
    `.csv` files are decoded with `encoding` when given, else from their BOM, else as UTF-8,
    else as the legacy code page a detector finds. Cells of `.xlsx` files that hold numbers
    come back as text (a code or a phone typed as a number); dates stay dates.
    """
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".txt", ".xlsx", ".yaml", ".yml"}:
        raise BadInput("file.type_unknown", file=path.name, suffix=suffix)
    if not path.is_file():
        raise BadInput("file.missing", file=path)
    if suffix in {".yaml", ".yml"}:
        return _read_yaml(path, _Header(aliases))
    table = _xlsx_table(path) if suffix == ".xlsx" else _csv_table(path, encoding)
    return _records(path, table, _Header(aliases))


class _Header:
    """Maps header cells to canonical column names."""

    def __init__(self, aliases: Mapping[str, str] | None) -> None:
        self.names: dict[str, str] = {}
        for alias, canonical in (aliases or {}).items():
            for name in (canonical, alias):
                key = header_key(name)
                self.names.setdefault(key, canonical)
                self.names.setdefault(_unaccented(key), canonical)

    def canonical(self, cell: Any) -> str:
        text = nfc(str(cell)) if cell is not None else ""
        key = header_key(text)
        return self.names.get(key) or self.names.get(_unaccented(key)) or text


def _read_error(path: Path, exc: OSError) -> BadInput:
    return BadInput("file.unreadable", file=path, reason=exc.strerror)


def decode_text(path: Path, data: bytes, encoding: str | None = None) -> str:
    """Decode the bytes of a text file: the named encoding, a BOM, UTF-8 or a detected code page.

    Refuses, in one sentence, bytes that are no text at all (NUL bytes outside UTF-16, or
    nothing the detector recognises).
    """
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise BadInput("file.encoding_unknown", encoding=encoding) from exc
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise BadInput("file.not_in_encoding", file=path.name, encoding=encoding, byte=exc.start) from exc
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    if encoding:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise BadInput("file.bom_mismatch", file=path.name, encoding=encoding, byte=exc.start) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    not_text = BadInput("file.not_text", file=path.name)
    if b"\x00" in data:
        raise not_text
    from charset_normalizer import from_bytes  # only legacy files pay for the detector

    best = from_bytes(data[:DETECT_SAMPLE], cp_isolation=list(LEGACY_ENCODINGS)).best()
    if best is None:
        raise not_text
    try:
        return data.decode(best.encoding)
    except UnicodeDecodeError as exc:
        raise not_text from exc


def _csv_table(path: Path, encoding: str | None) -> Iterator[tuple[int, list[Any]]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _read_error(path, exc) from exc
    if data.startswith(b"PK\x03\x04"):
        raise BadInput("file.xlsx_misnamed", file=path.name, suffix=path.suffix)
    text = decode_text(path, data, encoding)
    del data
    if CONTROL_RE.search(text):
        raise BadInput("file.control_characters", file=path.name)
    delimiter = _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise BadInput("file.csv_line_unreadable", file=path.name, line=line, reason=exc) from exc


def _sniff(text: str) -> str:
    """The delimiter of the first non-blank line: whichever of , ; tab it holds most of."""
    for first in text.splitlines():
        if first.strip(" ,;\t\"'"):
            counts = [first.count(d) for d in DELIMITERS]
            return DELIMITERS[counts.index(max(counts))]
    return ","


def _xlsx_table(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook  # slow to import; only for .xlsx files

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise _read_error(path, exc) from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise BadInput("file.xlsx_unreadable_type", file=path.name, reason=type(exc).__name__) from exc
    try:
        if not book.worksheets:
            return
        for line, cells in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield line, [_excel_value(c) for c in cells]
    finally:
        book.close()


def _excel_value(value: Any) -> Any:
    """A cell as the rows hold it: numbers as the text a user typed, dates as dates."""
    if type(value) is str or value is None:  # the common cells first: this runs per cell
        return value
    if isinstance(value, bool | date | datetime):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _present(cell: Any) -> bool:
    return cell is not None and (not isinstance(cell, str) or bool(cell.strip()))


def _clean(cell: Any) -> Any:
    return nfc(cell) if isinstance(cell, str) else cell


def _records(path: Path, table: Iterable[tuple[int, list[Any]]],
             header: _Header) -> tuple[list[str], list[Row]]:
    """Turn (line, cells) rows, the first non-empty one the header, into records."""
    rows: list[Row] = []
    columns: list[str] | None = None
    width = 0
    for line, cells in table:
        if not any(_present(c) for c in cells):
            continue  # blank lines, and rows of bare separators (",,,,,,")
        if columns is None:
            columns = [header.canonical(c) for c in cells]
            while columns and not columns[-1]:
                columns.pop()  # a spreadsheet's trailing empty columns
            _check_header(path, line, columns)
            width = len(columns)
            continue
        values = {name: _clean(cell) for name, cell in zip(columns, cells, strict=False) if name}
        extra = [c for c in cells[width:] if _present(c)]
        extra += [c for name, c in zip(columns, cells, strict=False) if not name and _present(c)]
        if extra:
            values["__extra__"] = extra
        rows.append(Row(line, values))
    return columns or [], rows


def _check_header(path: Path, line: int, columns: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(columns):
        if name and name in seen:
            raise BadInput("column.twice", file=path.name, line=line, name=name, first=seen[name] + 1, second=i + 1)
        seen[name] = i


def _read_yaml(path: Path, header: _Header) -> tuple[list[str], list[Row]]:
    try:
        data, lines = load_yaml(path)
    except ConfigError as exc:
        raise BadInput(exc.code, exc.problems, **exc.data) from exc
    prefix: tuple[str, ...] = ()
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        key = next(iter(data))
        items, prefix = data[key], (key,)
    else:
        items = data
    if not isinstance(items, list):
        raise BadInput("yaml.records_needed", file=path.name)
    columns: list[str] = []
    rows = []
    for i, item in enumerate(items):
        line = lines.get((*prefix, i), 0)
        if not isinstance(item, dict):
            raise BadInput("yaml.record_pairs", file=path.name, line=line)
        values = {header.canonical(k): _clean(v) for k, v in item.items()}
        for key in values:
            if key not in columns:
                columns.append(key)
        rows.append(Row(line, values))
    return columns, rows


def parse_bool(value: Any) -> bool:
    """Read a yes/no cell: yes/no, true/false, 1/0, có/không (README); raise ValueError."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise ValueError(value)
    text = unicodedata.normalize("NFC", str(value)).strip().casefold()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(value)

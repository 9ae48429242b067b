"""Read the rows of a CSV, XLSX or YAML file with their line numbers, and parse yes/no cells.

Offices export unit lists and results from spreadsheets; these helpers give every row the
line it came from, so an error can say "dòng 14" and the user can find it. Header cells may
be matched to canonical column names through `aliases` (Vietnamese headers, any case).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.yamlfile import load_yaml
from workflow.errors import BadInput

TRUE = {"yes", "y", "true", "1", "có", "co", "x"}
FALSE = {"no", "n", "false", "0", "không", "khong", ""}


@dataclass(frozen=True)
class Row:
    """One record of an input file and the line it starts on."""

    line: int
    values: dict[str, Any]


def header_key(cell: object) -> str:
    """The form a header cell is compared in: NFC, case-folded, stripped."""
    return unicodedata.normalize("NFC", str(cell if cell is not None else "")).casefold().strip()


def read_rows(path: Path, *, aliases: Mapping[str, str] | None = None,
              encoding: str | None = None) -> tuple[list[str], list[Row]]:
    """Return the column names and rows of a `.csv`, `.xlsx`, `.yaml` or `.yml` file.

    A header cell found in `aliases` (keys compared by `header_key`) is renamed to its
    canonical name, so "Mã đơn vị" and "code" name the same column.
    """
    suffix = path.suffix.lower()
    names = {header_key(k): v for k, v in (aliases or {}).items()}
    if suffix == ".csv":
        return _read_csv(path, names, encoding or "utf-8-sig")
    if suffix == ".xlsx":
        return _read_xlsx(path, names)
    if suffix in {".yaml", ".yml"}:
        return _read_yaml(path)
    raise BadInput(f"{path.name}: unsupported file type '{suffix}'; use .csv, .xlsx or .yaml")


def _canonical(header: list[object], names: Mapping[str, str]) -> list[str]:
    return [names.get(header_key(c), str(c if c is not None else "").strip()) for c in header]


def _read_xlsx(path: Path, names: Mapping[str, str]) -> tuple[list[str], list[Row]]:
    """The first sheet's rows (read-only mode: a large sheet is streamed, not held whole)."""
    from openpyxl import load_workbook  # only a spreadsheet upload pays for the import

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise BadInput(f"{path.name}: not a readable XLSX file ({exc}).") from exc
    try:
        cells = book.worksheets[0].iter_rows(values_only=True)
        columns = _canonical(list(next(cells, ())), names)
        rows = []
        for line, values in enumerate(cells, start=2):
            stripped = [_strip(v) for v in values]
            if all(v is None or v == "" for v in stripped):
                continue
            rows.append(Row(line, dict(zip(columns, stripped, strict=False))))
    finally:
        book.close()
    return columns, rows


def _read_csv(path: Path, names: Mapping[str, str], encoding: str) -> tuple[list[str], list[Row]]:
    try:
        handle = path.open(encoding=encoding, newline="")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the file ({exc.strerror}).") from exc
    with handle:
        try:
            reader = csv.reader(handle)
            columns = _canonical(next(reader, []), names)
            width = len(columns)
            rows = []
            line = reader.line_num
            for cells in reader:
                if cells:  # a blank line is no row (as csv.DictReader has it)
                    # a short row's missing cells are absent (read as empty)
                    values = dict(zip(columns, [c.strip() for c in cells[:width]], strict=False))
                    if len(cells) > width:
                        values["__extra__"] = cells[width:]
                    rows.append(Row(line + 1, values))
                line = reader.line_num
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BadInput(f"{path.name}: not a readable UTF-8 CSV file ({exc}).") from exc
    return columns, rows


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _read_yaml(path: Path) -> tuple[list[str], list[Row]]:
    try:
        data, lines = load_yaml(path)
    except ConfigError as exc:
        raise BadInput(str(exc)) from exc
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        key = next(iter(data))
        items, prefix = data[key], (key,)
    else:
        items, prefix = data, ()
    if not isinstance(items, list):
        raise BadInput(f"{path.name}: expected a list of records")
    columns: list[str] = []
    rows = []
    for i, item in enumerate(items):
        line = lines.get((*prefix, i), 0)
        if not isinstance(item, dict):
            raise BadInput(f"{path.name}: line {line}: each record must be a mapping of column: value")
        for key in item:
            if str(key) not in columns:
                columns.append(str(key))
        rows.append(Row(line, {str(k): _strip(v) for k, v in item.items()}))
    return columns, rows


def parse_bool(value: Any) -> bool:
    """Read a yes/no cell: yes/no, true/false, 1/0, có/không (DESIGN.md); raise ValueError."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise ValueError(value)
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(value)

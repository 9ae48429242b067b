"""Read the rows of a CSV or YAML file with their line numbers, and parse yes/no cells.

Offices export unit lists and results from spreadsheets; these helpers give every row the
line it came from, so an error can say "dòng 14" and the user can find it.
"""

from __future__ import annotations

import csv
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


def read_rows(path: Path) -> tuple[list[str], list[Row]]:
    """Return the column names and rows of a `.csv`, `.yaml` or `.yml` file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in {".yaml", ".yml"}:
        return _read_yaml(path)
    raise BadInput(f"{path.name}: unsupported file type '{suffix}'; use .csv or .yaml")


def _read_csv(path: Path) -> tuple[list[str], list[Row]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the file ({exc.strerror}).") from exc
    with handle:
        try:
            reader = csv.reader(handle)
            columns = [c.strip() for c in next(reader, [])]
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

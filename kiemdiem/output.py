"""Print listings the way DESIGN.md promises: a readable table, or `--json` for scripts.

JSON is an array of objects with the contract's keys; instants are ISO 8601 with the
local offset (+07:00), so a script never has to guess the zone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
T = TypeVar("T")
#: objects joined into one write by `emit_json_objects`
WRITE_BATCH = 5_000


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(LOCAL).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, datetime):
        return value.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def emit(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], as_json: bool,
         title: str | None = None) -> None:
    """Write `rows` to stdout as a JSON array (keys `columns`) or as a table."""
    if as_json:
        out = sys.stdout
        out.write("[")
        for i, row in enumerate(rows):
            if i:
                out.write(",\n")
            out.write(json.dumps({c: to_jsonable(row.get(c)) for c in columns}, ensure_ascii=False))
        out.write("]\n")
        return
    from rich.console import Console  # imported here: most scripted calls never print a table
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    count = 0
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
        count += 1
    # piped into a file or `less`, keep whole rows rather than squeezing them to 80 columns
    console = Console() if sys.stdout.isatty() else Console(width=250)
    if count:
        console.print(table)
    else:
        console.print("(không có dòng nào / no rows)")


def emit_json_objects(objects: Iterable[bytes]) -> None:
    """Write JSON objects the database rendered (UTF-8 bytes) as one JSON array.

    Bytes straight to stdout's buffer, in batches: decoding and re-encoding each object and
    one write per object were a third of `overdue --json` over 275,000 rows.
    """
    sys.stdout.flush()
    out = sys.stdout.buffer
    out.write(b"[")
    separator = b""
    for batch in batched(objects, WRITE_BATCH):
        out.write(separator + b",\n".join(batch))
        separator = b",\n"
    out.write(b"]\n")
    out.flush()


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items, in order (itertools.batched arrives in Python 3.12)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def emit_json(value: Any) -> None:
    """Write one JSON document to stdout."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=to_jsonable))

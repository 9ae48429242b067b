"""Print listings the way the README's CLI contract promises: a readable table, or `--json` for scripts.

JSON is an array of objects with the contract's keys and values; instants are ISO 8601 with
the local offset (+07:00), so a script never has to guess the zone. A table is for a person:
its headers, and the machine names in its cells (stages, statuses, kinds), come from the
message catalogs in the chosen language (`config.i18n`). A deadline (`Due`) is its instant in
JSON and the plan's wording ("trước ngày 20/11/2026") in a table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from config.i18n import _, pgettext
from config.wording import deadline_words
from config.zone import DEFAULT_ZONE
from workflow.notices import Due

if TYPE_CHECKING:
    from rich.console import Console

#: columns whose values are machine names a table shows by their label (`pgettext("value", …)`)
LABELLED = frozenset({"state", "next_stage", "stage", "from_state", "to_state", "level", "kind",
                      "status", "action", "role"})


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Due):
        value = value.at
    if isinstance(value, datetime):
        return value.astimezone(DEFAULT_ZONE).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _cell(value: Any, column: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Due):
        return deadline_words(value.rule, value.plan_date)
    if column in LABELLED and isinstance(value, str):
        return pgettext("value", value)
    if isinstance(value, datetime):
        return value.astimezone(DEFAULT_ZONE).strftime("%d/%m/%Y %H:%M")
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
    from rich.table import Table  # imported here: most scripted calls never print a table
    from rich.text import Text

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(pgettext("column", column))
    count = 0
    for row in rows:
        # Text, not str: a unit named "Chi bộ [sáp nhập]" is data, never rich markup or emoji
        table.add_row(*(Text(_cell(row.get(c), c)) for c in columns))
        count += 1
    console = literal_console()
    if count:
        console.print(table)
    else:
        console.print(_("(no rows)"))


def literal_console() -> Console:
    """A rich console that prints names as they are: no markup, no `:emoji:` codes, no
    highlighting; piped into a file or `less`, whole rows rather than 80 columns."""
    from rich.console import Console

    width = None if sys.stdout.isatty() else 250
    return Console(width=width, markup=False, emoji=False, highlight=False)


def emit_json_lines_as_array(chunks: Iterable[bytes]) -> None:
    """Write JSON objects the database rendered, one per line (UTF-8, in chunks of whole
    lines), as one JSON array.

    Bytes straight to stdout's buffer, a chunk at a time: decoding and re-encoding each
    object and one write per object would cost more than the listing's query. JSON
    text holds no raw newline, so each line break becomes the array's separator.
    """
    sys.stdout.flush()
    out = sys.stdout.buffer
    out.write(b"[")
    separator = b""
    for chunk in chunks:
        if chunk:
            out.write(separator + chunk[:-1].replace(b"\n", b",\n"))
            separator = b",\n"
    out.write(b"]\n")
    out.flush()


def emit_json(value: Any) -> None:
    """Write one JSON document to stdout."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=to_jsonable))

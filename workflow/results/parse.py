"""Read a results file (CSV, XLSX or YAML): members one per row, or the counts per level.

Every problem is collected, each naming its row and column ("dòng 7, cột votes_for"), and
raised together as one `BadInput`, so the secretary fixes the whole file in one pass and
nothing is stored from a file with a problem.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.yamlfile import load_yaml
from workflow.errors import BadInput, Problem
from workflow.results.grounds import KHT_GROUNDS, LOWER_REASONS, OTHER, split_codes
from workflow.results.levels import ALL, NOT_CLASSIFIED, PENDING, RATED, parse_level
from workflow.results.rules import score_range_problems, tally
from workflow.results.sheet import REASONS, Counts, Member, Sheet
from workflow.tabular import YES_NO, parse_bool

BOOL_COLUMNS = ("is_head", "maternity_leave", "disciplined", "exempt", "suspended", "absent",
                "self_discovered", "probationary", "shortcomings_fixed", "units_target_met",
                "subordinates_disciplined")
INT_COLUMNS = ("votes_for", "full_members_voting", "tasks_total", "tasks_on_time", "tasks_exceeded",
               "tasks_completed")
NUMBER_COLUMNS = ("score_general", "score_tasks", "sick_leave_months")
DATE_COLUMNS = ("admitted_on", "disciplined_on")
TEXT_COLUMNS = ("kht_grounds", "lower_reason", "lower_reason_text")
#: columns of a collective's own record only
COLLECTIVE_ONLY = ("subordinates_disciplined",)
MEMBER_COLUMNS = tuple(f.name for f in fields(Member) if f.name not in ("line", *COLLECTIVE_ONLY))
#: a collective's record: in a YAML results file (`collective:`) or a row of a parent's file
COLLECTIVE_COLUMNS = ("score_general", "score_tasks", "tasks_total", "tasks_on_time", "tasks_exceeded",
                      "tasks_completed", "disciplined", "disciplined_on", "self_discovered",
                      "subordinates_disciplined", "kht_grounds", "lower_reason", "lower_reason_text",
                      "shortcomings_fixed")
#: The counts-only form: a column per level, the membership and the not-classified reasons.
COUNT_COLUMNS = {"htxs": "HTXS", "htt": "HTT", "ht": "HT", "kht": "KHT",
                 "not_classified": NOT_CLASSIFIED, "pending": PENDING}
COUNT_EXTRA = ("total", *(r for r in REASONS if r != "other"))


@dataclass(frozen=True)
class Submission:
    """What a results file says, before the review date turns it into a `Sheet`."""

    members: tuple[Member, ...] | None
    counts: Counts | None
    collective_level: str | None = None
    founded_on: date | None = None
    collective: Member | None = None

    def sheet(self, review_date: date, collective_level: str | None = None) -> Sheet:
        counts = tally(self.members, review_date) if self.members is not None else self.counts
        assert counts is not None
        return Sheet(counts, self.members, collective_level or self.collective_level, self.founded_on,
                     self.collective)


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, Any]


class _Problems(list[Problem]):
    def add(self, line: int | str, column: str | None, message: Problem) -> None:
        where = (Problem("cell.at_line_column", line=line, column=column) if column
                 else Problem("cell.at_line", line=line))
        self.append(Problem("cell.problem", where=where, reason=message))


def read_results(path: Path) -> Submission:
    """Parse `path` into a `Submission`, or raise `BadInput` listing every problem."""
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path], tuple[dict[str, Any], list[_Row], bool]]] = {
        ".csv": _csv, ".xlsx": _xlsx, ".yaml": _yaml, ".yml": _yaml}
    if suffix not in readers:
        raise BadInput("file.results_type", file=path.name, suffix=suffix)
    if not path.is_file():
        raise BadInput("file.missing", file=path)
    header, rows, counts_form = readers[suffix](path)
    problems = _Problems()
    collective = _cell(problems, header.get("line", 1), "collective_level", header.get("collective_level"),
                       _level)
    founded = _cell(problems, header.get("line", 1), "founded_on", header.get("founded_on"), _date)
    record = None
    if header.get("collective") is not None:
        record = _record(_Row(header["collective_line"], header["collective"]), problems, "", collective)
    if counts_form:
        counts = _counts(rows, problems)
        result = Submission(None, counts, collective, founded, record)
    else:
        members = tuple(_members(rows, problems))
        if not rows:
            problems.add(header.get("line", 1), None, Problem("results.members_empty"))
        result = Submission(members, None, collective, founded, record)
    _raise(path, problems)
    return result


def _is_counts(columns: list[str]) -> bool:
    return "name" not in columns and any(c in COUNT_COLUMNS for c in columns)


LEVEL_COLUMNS = ("code", "level", *COLLECTIVE_COLUMNS)


def read_levels(path: Path) -> list[Member]:
    """Parse a parent's file of its children's levels (CSV or XLSX: `code, level` and the
    collective's record columns) into records named by unit code; raise `BadInput`."""
    readers = {".csv": _csv, ".xlsx": _xlsx}
    suffix = path.suffix.lower()
    if suffix not in readers:
        raise BadInput("file.levels_type", file=path.name, suffix=suffix)
    if not path.is_file():
        raise BadInput("file.missing", file=path)
    _header, rows, _form = readers[suffix](path, LEVEL_COLUMNS)
    problems, seen, records = _Problems(), set(), []
    for row in rows:
        code = str(row.values.get("code") or "").strip()
        level = _cell(problems, row.line, "level", row.values.get("level"), _level)
        if not code:
            problems.add(row.line, "code", Problem("levels.no_code"))
        elif code in seen:
            problems.add(row.line, "code", Problem("levels.code_repeated", code=code))
        if level is None and _present(code):
            problems.add(row.line, "level", Problem("levels.level_missing"))
        seen.add(code)
        records.append(_record(row, problems, code, level))
    if not rows:
        problems.add(1, None, Problem("levels.no_unit"))
    _raise(path, problems)
    return records


def _csv(path: Path, known: tuple[str, ...] | None = None) -> tuple[dict[str, Any], list[_Row], bool]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise BadInput("file.csv_unreadable", file=path.name, reason=exc) from exc
    return _table(path, [(i + 1, row) for i, row in enumerate(table)], known)


def _xlsx(path: Path, known: tuple[str, ...] | None = None) -> tuple[dict[str, Any], list[_Row], bool]:
    from openpyxl import load_workbook  # slow to import; only for .xlsx files

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise BadInput("file.xlsx_unreadable", file=path.name, reason=exc) from exc
    try:
        sheet = book.worksheets[0]
        table = [(i, list(row)) for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()
    return _table(path, table, known)


def _table(path: Path, table: list[tuple[int, list[Any]]],
           known_columns: tuple[str, ...] | None = None) -> tuple[dict[str, Any], list[_Row], bool]:
    """Turn (line, cells) rows with a header row into records; unknown columns are refused.
    Without `known_columns` the header says which results form it is (members or counts)."""
    table = [(line, cells) for line, cells in table if any(_present(c) for c in cells)]
    if not table:
        raise BadInput("file.empty", file=path.name)
    header_line, header = table[0]
    columns = [str(c).strip().lower() if c is not None else "" for c in header]
    counts_form = known_columns is None and _is_counts(columns)
    known = set(COUNT_COLUMNS) | set(COUNT_EXTRA) if counts_form else set(known_columns or MEMBER_COLUMNS)
    problems = _Problems()
    for i, column in enumerate(columns):
        if column not in known:
            problems.add(header_line, column or f"#{i + 1}", _unknown_column(known))
        elif columns.index(column) != i:
            problems.add(header_line, column, Problem("column.repeated"))
    _raise(path, problems)
    rows = [_Row(line, dict(zip(columns, cells, strict=False))) for line, cells in table[1:]]
    return {}, rows, counts_form


def _yaml(path: Path) -> tuple[dict[str, Any], list[_Row], bool]:
    try:
        data, lines = load_yaml(path)
    except ConfigError as exc:
        raise BadInput(exc.code, exc.problems, **exc.data) from exc
    if not isinstance(data, dict):
        raise BadInput("yaml.keys_needed", file=path.name)
    problems = _Problems()
    for key in data:
        if key not in ("collective_level", "founded_on", "collective", "members", "counts"):
            problems.add(lines.get((key,), 1), str(key), Problem("yaml.unknown_key"))
    record = data.get("collective")
    if record is not None and not isinstance(record, dict):
        problems.add(lines.get(("collective",), 1), "collective", Problem("yaml.collective_pairs"))
    elif record is not None:
        record = {str(k).strip().lower(): v for k, v in record.items()}
        _unknown(problems, record, set(COLLECTIVE_COLUMNS), lines.get(("collective",), 1))
    if ("members" in data) == ("counts" in data):
        problems.add(1, None, Problem("yaml.members_or_counts"))
    _raise(path, problems)
    header = {"line": lines.get(("collective_level",), 1), "collective_level": data.get("collective_level"),
              "founded_on": data.get("founded_on"), "collective": record,
              "collective_line": lines.get(("collective",), 1)}
    if "counts" in data:
        counts = data["counts"]
        if not isinstance(counts, dict):
            raise BadInput("yaml.counts_pairs", file=path.name, line=lines.get(("counts",)))
        values = {str(k).strip().lower(): v for k, v in counts.items()}
        _unknown(problems, values, set(COUNT_COLUMNS) | set(COUNT_EXTRA), lines.get(("counts",), 1))
        _raise(path, problems)
        return header, [_Row(lines.get(("counts",), 1), values)], True
    members = data["members"]
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise BadInput("yaml.members_list", file=path.name, line=lines.get(("members",)))
    rows = []
    for i, item in enumerate(members):
        line = lines.get(("members", i), 0)
        values = {str(k).strip().lower(): v for k, v in item.items()}
        _unknown(problems, values, set(MEMBER_COLUMNS), line)
        rows.append(_Row(line, values))
    _raise(path, problems)
    return header, rows, False


def _unknown(problems: _Problems, values: dict[str, Any], known: set[str], line: int) -> None:
    for column in sorted(set(values) - known):
        problems.add(line, column, _unknown_column(known))


def _unknown_column(known: set[str]) -> Problem:
    return Problem("column.unknown", known=", ".join(sorted(known)))


def _raise(path: Path, problems: _Problems) -> None:
    if problems:
        raise BadInput("results.problems", list(problems), file=path.name, count=len(problems))


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _cell(problems: _Problems, line: int, column: str, value: Any, parse: Callable[[Any], Any]) -> Any:
    """Parse one cell; record a problem (and return None) when it cannot be read."""
    if not _present(value):
        return None
    try:
        return parse(value)
    except (ValueError, TypeError) as exc:
        problems.add(line, column, exc.args[0] if isinstance(exc.args[0], Problem)
                     else Problem("value.unreadable", reason=str(exc)))
        return None


def _level(value: Any) -> str:
    try:
        level = parse_level(value)
    except ValueError:
        raise ValueError(Problem("value.not_level", value=value, levels=", ".join(ALL))) from None
    assert level is not None
    return level


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(Problem("value.not_number", value=value))
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        raise ValueError(Problem("value.not_number", value=value)) from None


def _int(value: Any) -> int:
    number = _number(value)
    if number != int(number) or number < 0:
        raise ValueError(Problem("value.not_whole", value=value))
    return int(number)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(Problem("value.not_date", value=value))


def _bool(value: Any) -> bool:
    try:
        return parse_bool(value)
    except ValueError:
        raise ValueError(Problem("value.not_yes_no", value=value, accepted=YES_NO)) from None


def _members(rows: list[_Row], problems: _Problems) -> Iterator[Member]:
    seen: dict[str, int] = {}
    for row in rows:
        before = len(problems)
        member = _member(row, problems)
        if member is None:
            continue
        if member.name in seen:
            problems.add(row.line, "name", Problem("member.repeated", name=member.name, other=seen[member.name]))
        seen.setdefault(member.name, row.line)
        if len(problems) == before:
            yield member


def _typed(row: _Row, problems: _Problems, columns: tuple[str, ...]) -> dict[str, Any]:
    """The typed values of `row`'s cells among `columns`; a cell that cannot be read is a problem."""
    parsed: dict[str, Any] = {}
    for names, parse in ((BOOL_COLUMNS, _bool), (INT_COLUMNS, _int), (NUMBER_COLUMNS, _number),
                         (DATE_COLUMNS, _date), (TEXT_COLUMNS, _text)):
        for column in names:
            if column in columns:
                value = _cell(problems, row.line, column, row.values.get(column), parse)
                if value is not None:
                    parsed[column] = value
    if "lower_reason" in parsed:
        parsed["lower_reason"] = parsed["lower_reason"].upper()
    if "kht_grounds" in parsed:
        parsed["kht_grounds"] = ";".join(split_codes(parsed["kht_grounds"])) or None
    return parsed


def _member(row: _Row, problems: _Problems) -> Member | None:
    v, line = row.values, row.line
    name = str(v.get("name") or "").strip()
    if not name:
        problems.add(line, "name", Problem("member.name_missing"))
    parsed = _typed(row, problems, MEMBER_COLUMNS)
    level = _cell(problems, line, "level", v.get("level"), _level)
    if level is None and not _present(v.get("level")):
        level = _default_level(parsed)
        if level is None:
            problems.add(line, "level", Problem("member.level_missing", levels=", ".join(ALL)))
    if not name or level is None:
        return None
    role = str(v["role"]).strip() if _present(v.get("role")) else None
    member = Member(name=name, level=level, role=role, line=line, **parsed)
    _check_member(member, problems)
    return member


def _record(row: _Row, problems: _Problems, name: str, level: str | None) -> Member:
    """A collective's own record (score, tasks, discipline) named by its unit's code."""
    record = Member(name=name, level=level or "", line=row.line, **_typed(row, problems, COLLECTIVE_COLUMNS))
    _check_member(record, problems)
    return record


def _default_level(parsed: dict[str, Any]) -> str | None:
    """The level an empty cell means: absent → PENDING; exempt, suspended, new → NOT_CLASSIFIED."""
    if parsed.get("exempt") or parsed.get("suspended") or parsed.get("admitted_on"):
        return NOT_CLASSIFIED
    if parsed.get("absent"):
        return PENDING
    return None


def _text(value: Any) -> str:
    return str(value).strip()


def _check_member(m: Member, problems: _Problems) -> None:
    """Input errors (not rule violations): numbers that cannot be true together, unknown codes."""
    for code in split_codes(m.kht_grounds):
        if code not in KHT_GROUNDS:
            problems.add(m.line, "kht_grounds", Problem("member.kht_ground_unknown", code=code,
                                                        grounds=", ".join(KHT_GROUNDS)))
    if m.lower_reason is not None:
        if m.lower_reason not in LOWER_REASONS:
            problems.add(m.line, "lower_reason", Problem("member.reason_unknown", reason=m.lower_reason,
                                                         reasons=", ".join(LOWER_REASONS)))
        elif m.lower_reason == OTHER and not m.lower_reason_text:
            problems.add(m.line, "lower_reason_text", Problem("member.other_needs_text"))
        elif m.level not in RATED and m.level:
            problems.add(m.line, "lower_reason", Problem("member.reason_not_rated", level=m.level))
    if m.tasks_completed is not None:
        if m.tasks_total is not None and m.tasks_completed > m.tasks_total:
            problems.add(m.line, "tasks_completed", _more_than_tasks(m.tasks_completed, m.tasks_total))
        if m.tasks_on_time is not None and m.tasks_on_time > m.tasks_completed:
            problems.add(m.line, "tasks_on_time", Problem("member.on_time_over_completed", on_time=m.tasks_on_time,
                                                          completed=m.tasks_completed))
    if m.votes_for is not None and m.full_members_voting is not None and m.votes_for > m.full_members_voting:
        problems.add(m.line, "votes_for", Problem("member.votes_over_voting", votes=m.votes_for,
                                                  voting=m.full_members_voting))
    for column in ("tasks_on_time", "tasks_exceeded"):
        value = getattr(m, column)
        if value is not None and m.tasks_total is not None and value > m.tasks_total:
            problems.add(m.line, column, _more_than_tasks(value, m.tasks_total))
    if m.sick_leave_months is not None and not 0 <= m.sick_leave_months <= 12:
        problems.add(m.line, "sick_leave_months", Problem("member.sick_leave_range", months=f"{m.sick_leave_months:g}"))
    for column, message in score_range_problems(m):
        problems.add(m.line, column, message)


def _more_than_tasks(value: int, total: int | None) -> Problem:
    return Problem("member.over_tasks", value=value, total=total)


def _counts(rows: list[_Row], problems: _Problems) -> Counts | None:
    if len(rows) != 1:
        problems.add(rows[1].line if len(rows) > 1 else 1, None,
                     Problem("counts.one_row"))
        return None
    row = rows[0]
    values = {c: _cell(problems, row.line, c, row.values.get(c), _int) or 0
              for c in (*COUNT_COLUMNS, *COUNT_EXTRA)}
    by_level = {level: values[c] for c, level in COUNT_COLUMNS.items()}
    reasons = {r: values[r] for r in COUNT_EXTRA[1:] if values[r]}
    counted = sum(by_level.values())
    if _present(row.values.get("total")) and values["total"] != counted:
        problems.add(row.line, "total", Problem("counts.total_mismatch", counted=counted, total=values["total"]))
    if sum(reasons.values()) > by_level[NOT_CLASSIFIED]:
        problems.add(row.line, "not_classified", Problem("counts.not_classified_short", count=by_level[NOT_CLASSIFIED],
                                                         reasons=sum(reasons.values())))
    other = by_level[NOT_CLASSIFIED] - sum(reasons.values())
    if other > 0:
        reasons["other"] = other
    return Counts(by_level, reasons)

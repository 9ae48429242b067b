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
from workflow.errors import BadInput
from workflow.results.levels import ALL, NOT_CLASSIFIED, PENDING, parse_level
from workflow.results.rules import score_range_problems, tally
from workflow.results.sheet import REASONS, Counts, Member, Sheet
from workflow.tabular import parse_bool

BOOL_COLUMNS = ("is_head", "maternity_leave", "disciplined", "exempt", "suspended", "absent")
INT_COLUMNS = ("votes_for", "full_members_voting", "tasks_total", "tasks_on_time", "tasks_exceeded")
NUMBER_COLUMNS = ("score_general", "score_tasks", "sick_leave_months")
DATE_COLUMNS = ("admitted_on",)
MEMBER_COLUMNS = tuple(f.name for f in fields(Member) if f.name != "line")
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

    def sheet(self, review_date: date, collective_level: str | None = None) -> Sheet:
        counts = tally(self.members, review_date) if self.members is not None else self.counts
        assert counts is not None
        return Sheet(counts, self.members, collective_level or self.collective_level, self.founded_on)


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, Any]


class _Problems(list[str]):
    def add(self, line: int | str, column: str | None, message: str) -> None:
        where = f"dòng {line}" + (f", cột {column}" if column else "")
        self.append(f"{where}: {message}")


def read_results(path: Path) -> Submission:
    """Parse `path` into a `Submission`, or raise `BadInput` listing every problem."""
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path], tuple[dict[str, Any], list[_Row], bool]]] = {
        ".csv": _csv, ".xlsx": _xlsx, ".yaml": _yaml, ".yml": _yaml}
    if suffix not in readers:
        raise BadInput(f"{path.name}: không đọc được tệp '{suffix}'; dùng .csv, .xlsx hoặc .yaml")
    if not path.is_file():
        raise BadInput(f"{path}: không có tệp này.")
    header, rows, counts_form = readers[suffix](path)
    problems = _Problems()
    collective = _cell(problems, header.get("line", 1), "collective_level", header.get("collective_level"),
                       _level)
    founded = _cell(problems, header.get("line", 1), "founded_on", header.get("founded_on"), _date)
    if counts_form:
        counts = _counts(rows, problems)
        result = Submission(None, counts, collective, founded)
    else:
        result = Submission(tuple(_members(rows, problems)), None, collective, founded)
    _raise(path, problems)
    return result


def _is_counts(columns: list[str]) -> bool:
    return "name" not in columns and any(c in COUNT_COLUMNS for c in columns)


def _csv(path: Path) -> tuple[dict[str, Any], list[_Row], bool]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise BadInput(f"{path.name}: không đọc được tệp CSV UTF-8 ({exc}).") from exc
    return _table(path, [(i + 1, row) for i, row in enumerate(table)])


def _xlsx(path: Path) -> tuple[dict[str, Any], list[_Row], bool]:
    from openpyxl import load_workbook  # slow to import; only for .xlsx files

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise BadInput(f"{path.name}: không đọc được tệp Excel ({exc}).") from exc
    try:
        sheet = book.worksheets[0]
        table = [(i, list(row)) for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()
    return _table(path, table)


def _table(path: Path, table: list[tuple[int, list[Any]]]) -> tuple[dict[str, Any], list[_Row], bool]:
    """Turn (line, cells) rows with a header row into records; unknown columns are refused."""
    table = [(line, cells) for line, cells in table if any(_present(c) for c in cells)]
    if not table:
        raise BadInput(f"{path.name}: tệp trống.")
    header_line, header = table[0]
    columns = [str(c).strip().lower() if c is not None else "" for c in header]
    counts_form = _is_counts(columns)
    known = set(COUNT_COLUMNS) | set(COUNT_EXTRA) if counts_form else set(MEMBER_COLUMNS)
    problems = _Problems()
    for i, column in enumerate(columns):
        if column not in known:
            problems.add(header_line, column or f"#{i + 1}",
                         f"cột không được biết (các cột: {', '.join(sorted(known))})")
        elif columns.index(column) != i:
            problems.add(header_line, column, "cột bị lặp")
    _raise(path, problems)
    rows = [_Row(line, dict(zip(columns, cells, strict=False))) for line, cells in table[1:]]
    return {}, rows, counts_form


def _yaml(path: Path) -> tuple[dict[str, Any], list[_Row], bool]:
    try:
        data, lines = load_yaml(path)
    except ConfigError as exc:
        raise BadInput(str(exc)) from exc
    if not isinstance(data, dict):
        raise BadInput(f"{path.name}: cần các khóa collective_level, founded_on và members hoặc counts.")
    problems = _Problems()
    for key in data:
        if key not in ("collective_level", "founded_on", "members", "counts"):
            problems.add(lines.get((key,), 1), str(key), "khóa không được biết "
                         "(collective_level, founded_on, members, counts)")
    if ("members" in data) == ("counts" in data):
        problems.add(1, None, "cần đúng một trong hai khóa: members (danh sách) hoặc counts (số lượng)")
    _raise(path, problems)
    header = {"line": lines.get(("collective_level",), 1), "collective_level": data.get("collective_level"),
              "founded_on": data.get("founded_on")}
    if "counts" in data:
        counts = data["counts"]
        if not isinstance(counts, dict):
            raise BadInput(f"{path.name}: dòng {lines.get(('counts',))}: counts phải là các cặp mức: số")
        values = {str(k).strip().lower(): v for k, v in counts.items()}
        _unknown(problems, values, set(COUNT_COLUMNS) | set(COUNT_EXTRA), lines.get(("counts",), 1))
        _raise(path, problems)
        return header, [_Row(lines.get(("counts",), 1), values)], True
    members = data["members"]
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise BadInput(f"{path.name}: dòng {lines.get(('members',))}: members phải là danh sách các bản ghi")
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
        problems.add(line, column, f"cột không được biết (các cột: {', '.join(sorted(known))})")


def _raise(path: Path, problems: _Problems) -> None:
    if problems:
        raise BadInput(f"{path.name}: {len(problems)} lỗi, không lưu gì.", list(problems))


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _cell(problems: _Problems, line: int, column: str, value: Any, parse: Callable[[Any], Any]) -> Any:
    """Parse one cell; record a problem (and return None) when it cannot be read."""
    if not _present(value):
        return None
    try:
        return parse(value)
    except (ValueError, TypeError) as exc:
        problems.add(line, column, str(exc))
        return None


def _level(value: Any) -> str:
    try:
        level = parse_level(value)
    except ValueError:
        raise ValueError(f"'{value}' không phải mức xếp loại ({', '.join(ALL)})") from None
    assert level is not None
    return level


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"'{value}' không phải số")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"'{value}' không phải số") from None


def _int(value: Any) -> int:
    number = _number(value)
    if number != int(number) or number < 0:
        raise ValueError(f"'{value}' không phải số nguyên không âm")
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
    raise ValueError(f"'{value}' không phải ngày (YYYY-MM-DD hoặc DD/MM/YYYY)")


def _bool(value: Any) -> bool:
    try:
        return parse_bool(value)
    except ValueError:
        raise ValueError(f"'{value}' không phải có/không (yes/no, true/false, 1/0, có/không)") from None


def _members(rows: list[_Row], problems: _Problems) -> Iterator[Member]:
    seen: dict[str, int] = {}
    for row in rows:
        before = len(problems)
        member = _member(row, problems)
        if member is None:
            continue
        if member.name in seen:
            problems.add(row.line, "name", f"'{member.name}' đã có ở dòng {seen[member.name]}")
        seen.setdefault(member.name, row.line)
        if len(problems) == before:
            yield member


def _member(row: _Row, problems: _Problems) -> Member | None:
    v, line = row.values, row.line
    name = str(v.get("name") or "").strip()
    if not name:
        problems.add(line, "name", "thiếu họ tên")
    parsed: dict[str, Any] = {}
    for columns, parse in ((BOOL_COLUMNS, _bool), (INT_COLUMNS, _int), (NUMBER_COLUMNS, _number),
                           (DATE_COLUMNS, _date)):
        for column in columns:
            value = _cell(problems, line, column, v.get(column), parse)
            if value is not None:
                parsed[column] = value
    level = _cell(problems, line, "level", v.get("level"), _level)
    if level is None and not _present(v.get("level")):
        level = _default_level(parsed)
        if level is None:
            problems.add(line, "level", f"thiếu mức xếp loại ({', '.join(ALL)})")
    if not name or level is None:
        return None
    role = str(v["role"]).strip() if _present(v.get("role")) else None
    member = Member(name=name, level=level, role=role, line=line, **parsed)
    _check_member(member, problems)
    return member


def _default_level(parsed: dict[str, Any]) -> str | None:
    """The level an empty cell means: absent → PENDING; exempt, suspended, new → NOT_CLASSIFIED."""
    if parsed.get("exempt") or parsed.get("suspended") or parsed.get("admitted_on"):
        return NOT_CLASSIFIED
    if parsed.get("absent"):
        return PENDING
    return None


def _check_member(m: Member, problems: _Problems) -> None:
    """Input errors (not rule violations): numbers that cannot be true together."""
    if m.votes_for is not None and m.full_members_voting is not None and m.votes_for > m.full_members_voting:
        problems.add(m.line, "votes_for", f"số phiếu tán thành ({m.votes_for}) lớn hơn số đảng viên "
                     f"chính thức biểu quyết ({m.full_members_voting})")
    for column in ("tasks_on_time", "tasks_exceeded"):
        value = getattr(m, column)
        if value is not None and m.tasks_total is not None and value > m.tasks_total:
            problems.add(m.line, column, f"{value} lớn hơn tổng số nhiệm vụ ({m.tasks_total})")
    if m.sick_leave_months is not None and not 0 <= m.sick_leave_months <= 12:
        problems.add(m.line, "sick_leave_months", f"{m.sick_leave_months:g} tháng ngoài khoảng 0–12")
    for column, message in score_range_problems(m):
        problems.add(m.line, column, message)


def _counts(rows: list[_Row], problems: _Problems) -> Counts | None:
    if len(rows) != 1:
        problems.add(rows[1].line if len(rows) > 1 else 1, None,
                     "dạng số lượng cần đúng một dòng số liệu")
        return None
    row = rows[0]
    values = {c: _cell(problems, row.line, c, row.values.get(c), _int) or 0
              for c in (*COUNT_COLUMNS, *COUNT_EXTRA)}
    by_level = {level: values[c] for c, level in COUNT_COLUMNS.items()}
    reasons = {r: values[r] for r in COUNT_EXTRA[1:] if values[r]}
    counted = sum(by_level.values())
    if _present(row.values.get("total")) and values["total"] != counted:
        problems.add(row.line, "total", f"tổng các mức ({counted}) khác số đảng viên ({values['total']})")
    if sum(reasons.values()) > by_level[NOT_CLASSIFIED]:
        problems.add(row.line, "not_classified", f"số không xếp loại ({by_level[NOT_CLASSIFIED]}) nhỏ hơn "
                     f"tổng các lý do ({sum(reasons.values())})")
    other = by_level[NOT_CLASSIFIED] - sum(reasons.values())
    if other > 0:
        reasons["other"] = other
    return Counts(by_level, reasons)

"""Import the unit tree from a CSV, Excel or YAML file: every row is checked, then all or nothing.

Columns (README, "Units file"): `code,name,level,parent,secretary,email,zalo_user_id,phone,
has_committee`, plus optional `active` (yes/no) to deactivate a unit; the Vietnamese headers
an office writes (`Mã đơn vị, Tên đơn vị, Cấp, Mã cấp trên, Bí thư, Email, Zalo, Điện
thoại, Có cấp ủy, Hoạt động`) and any letter case are accepted too. Codes are compared
case-insensitively and stored upper-case.

Re-importing updates units in place, matched by code, and loses nothing it was not told to:
a column the file does not have leaves that field as it was; an empty cell leaves it as it
was unless `clear_empty`; a unit the file does not list is reported as "not in the file" and
deactivated only with `deactivate_missing`. A bad row (unknown parent, duplicate code, a
cycle, a level that cannot sit under its parent's, a malformed email or phone) stops the
whole import, and every bad row is listed by line; odd but usable cells (a mobile that lost
its leading 0, a landline) are imported with a warning naming the line.

Built for the national tree: the existing tree is read once, rows are checked in memory,
and new units go in by bulk insert with ids assigned here, so 300,000 rows take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from config.addresses import mobile_number, normalise_email, read_phone
from config.hierarchy import Hierarchy
from workflow.audit import record
from workflow.clock import Clock
from workflow.db import Database
from workflow.errors import BadInput, Problem
from workflow.lookup import canonical_code
from workflow.models import Unit
from workflow.sqlrender import Dialect
from workflow.tabular import YES_NO, Row, header_key, parse_bool, read_rows

COLUMNS = ("code", "name", "level", "parent", "secretary", "email", "zalo_user_id", "phone",
           "has_committee")
OPTIONAL_COLUMNS = ("active",)
REQUIRED = ("code", "name", "level")
CONTACT_FIELDS = ("name", "level", "secretary", "email", "zalo_user_id", "phone",
                  "has_committee", "active")
#: what a field becomes when a new unit has no value for it, or `clear_empty` clears it
DEFAULTS: dict[str, Any] = {"secretary": None, "email": None, "zalo_user_id": None,
                            "phone": None, "has_committee": False, "active": True}
#: the headers an office writes, beside the canonical names (compared without case)
ALIASES = {
    "mã đơn vị": "code", "mã": "code", "tên đơn vị": "name", "tên": "name", "cấp": "level",
    "mã cấp trên": "parent", "cấp trên": "parent", "đơn vị cấp trên": "parent",
    "bí thư": "secretary", "họ tên bí thư": "secretary", "email": "email",
    "thư điện tử": "email", "zalo": "zalo_user_id", "zalo id": "zalo_user_id",
    "điện thoại": "phone", "số điện thoại": "phone", "sđt": "phone",
    "có cấp ủy": "has_committee", "có cấp uỷ": "has_committee", "cấp ủy": "has_committee",
    "cấp uỷ": "has_committee", "hoạt động": "active", "còn hoạt động": "active",
}

#: the office headers a problem with the columns lists (the file's words: not translated)
OFFICE_HEADERS = ("Mã đơn vị, Tên đơn vị, Cấp, Mã cấp trên, Bí thư, Email, Zalo, Điện thoại, Có cấp ủy, "
                  "Hoạt động")

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,63}$")

Progress = Callable[[str, int, int], None]
#: rows written per step of the progress bar
WRITE_BATCH = 20_000

#: kept for the Zalo channel, which asks the same question of a stored number
normalise_phone = mobile_number


@dataclass(frozen=True)
class ImportOptions:
    """How a re-import treats what the file leaves out."""

    clear_empty: bool = False
    deactivate_missing: bool = False
    dry_run: bool = False
    encoding: str | None = None


@dataclass
class ImportReport:
    """What an import changed (or, in a dry run, would change), for the CLI and the audit log."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0
    #: code -> {field: [old, new]} for every unit updated or deactivated
    changes: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    #: code -> (old parent, new parent)
    moved: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    #: (code, field) of every empty cell that left a stored value as it was
    kept: list[tuple[str, str]] = field(default_factory=list)
    #: active units the file does not list (deactivated too with `deactivate_missing`)
    missing: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {"created": len(self.created), "updated": len(self.updated),
                "deactivated": len(self.deactivated), "unchanged": self.unchanged,
                "moved": len(self.moved), "kept": len(self.kept), "missing": len(self.missing)}


@dataclass
class _Record:
    line: int
    code: str
    #: the fields whose cells hold a value
    values: dict[str, Any]
    #: the fields of the file's columns whose cells are empty
    empty: frozenset[str]
    parent: str | None
    has_parent_column: bool


def _parse_rows(rows: list[Row], columns: list[str], hierarchy: Hierarchy,
                problems: list[Problem], warnings: list[Problem]) -> list[_Record]:
    unknown = [c for c in columns if c and c not in COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        known = ", ".join(COLUMNS + OPTIONAL_COLUMNS)
        problems.append(Problem("units.columns_unknown", columns=", ".join(unknown), known=known,
                                headers=OFFICE_HEADERS))
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        problems.append(Problem("units.columns_missing", columns=", ".join(missing)))
        return []
    present = [c for c in COLUMNS + OPTIONAL_COLUMNS if c in columns and c not in ("code", "parent")]
    levels = {header_key(name): name for name in hierarchy.names}
    levels.update({header_key(hierarchy.label(name)): name for name in hierarchy.names})
    records = []
    shapes: dict[frozenset[str], frozenset[str]] = {}
    for i, row in enumerate(rows):
        rows[i] = None  # type: ignore[call-overload]  # each row freed once read: 300,000 dicts
        v = row.values
        where = Problem("units.at_line", line=row.line)
        if "__extra__" in v:
            problems.append(Problem("units.too_many_cells", where=where))
        raw_code = str(v.get("code") or "")
        if not raw_code:
            problems.append(Problem("units.code_empty", where=where))
            continue
        code = canonical_code(raw_code)
        where = _at(row.line, raw_code)
        if not CODE_RE.match(code):
            problems.append(Problem("units.code_characters", where=where, code=raw_code))
        values: dict[str, Any] = {}
        empty: set[str] = set()
        for key in present:
            raw = v.get(key)
            if raw is None or raw == "":
                empty.add(key)
                continue
            try:
                values[key] = _cell(key, raw, levels, where, warnings)
            except ValueError as exc:
                problems.append(Problem("cell.problem", where=where, reason=_reason(exc)))
        if "name" in empty:
            problems.append(Problem("units.name_empty", where=where))
        if "level" in empty:
            problems.append(Problem("units.level_empty", where=where))
        parent = str(v.get("parent") or "")
        shape = frozenset(empty)  # a few shapes of empty cells recur across the whole file
        records.append(_Record(row.line, code, values, shapes.setdefault(shape, shape),
                               canonical_code(parent) if parent else None, "parent" in columns))
    return records


def _reason(exc: ValueError) -> Problem | str:
    """What a cell's reader refused: our code and data, or a library's own sentence."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], Problem) else str(exc)


def _at(line: int, code: str) -> Problem:
    """Where a problem is: "line 14 (CB01)"."""
    return Problem("units.at_line_code", line=line, code=code)


def _cell(key: str, raw: Any, levels: dict[str, str], where: Problem, warnings: list[Problem]) -> Any:
    """Read one non-empty cell of `key`; raise ValueError naming the rule it breaks."""
    if key in ("has_committee", "active"):
        try:
            return parse_bool(raw)
        except ValueError:
            raise ValueError(Problem("units.not_yes_no", column=key, value=raw, accepted=YES_NO)) from None
    text_value = str(raw)
    if key == "level":
        level = levels.get(header_key(text_value))
        if level is None:
            raise ValueError(Problem("units.level_unknown", level=text_value,
                                     levels=", ".join(sorted(set(levels.values())))))
        return level
    if key == "email":
        return normalise_email(text_value)
    if key == "phone":
        phone = read_phone(text_value)
        if phone.note:
            warnings.append(Problem("cell.problem", where=where, reason=phone.note))
        return phone.number
    return text_value


def import_units(db: Database, path: Path, hierarchy: Hierarchy, clock: Clock, actor: str,
                 progress: Progress | None = None,
                 after_write: Callable[[Session], None] | None = None,
                 options: ImportOptions = ImportOptions()) -> ImportReport:
    """Check every row of `path` and write them all in one transaction, or write nothing.

    `after_write` runs inside the same transaction (the composition root uses it to give
    new units their cycles in open campaigns). With `options.dry_run` the report says what
    would change and nothing is written.
    """
    columns, rows = read_rows(path, aliases=ALIASES, encoding=options.encoding)
    problems: list[Problem] = []
    report = ImportReport()
    records = _parse_rows(rows, columns, hierarchy, problems, report.warnings)
    del rows
    if progress:
        progress("read", len(records), len(records))
    with db.session(write=not options.dry_run) as session:
        if not options.dry_run:
            Dialect.of(session).lock_table(session, "units", "SHARE ROW EXCLUSIVE")
        existing = {canonical_code(r.code): r for r in session.execute(
            select(Unit.id, Unit.code, Unit.level, Unit.parent_id, Unit.path, Unit.name,
                   Unit.secretary, Unit.email, Unit.zalo_user_id, Unit.phone,
                   Unit.has_committee, Unit.active))}
        plan = _plan(records, existing, hierarchy, options, report, problems)
        if problems:
            raise BadInput("units.problems", problems, file=path.name, count=len(problems))
        if options.dry_run:
            _diff(plan, existing, report)
            return report
        _write(session, plan, existing, clock, actor, progress, report)
        record(session, clock, actor, "units.import",
               details={"file": path.name, **report.summary(),
                        "clear_empty": options.clear_empty,
                        "deactivate_missing": options.deactivate_missing})
        if after_write:
            after_write(session)
    return report


@dataclass
class _Plan:
    records: dict[str, _Record]
    parent_of: dict[str, str | None]
    level_of: dict[str, str]
    #: code -> the row every listed or deactivated unit will have
    final: dict[str, dict[str, Any]]
    #: units not in the file that this import deactivates
    dropped: list[str]


def _final_row(rec: _Record, old: Any, options: ImportOptions, kept: list[tuple[str, str]],
               parent_code: str | None) -> tuple[dict[str, Any], str | None]:
    """The values a listed unit ends with, and its parent's code."""
    if old is None:
        row = {**DEFAULTS, **rec.values}
        return row, rec.parent
    row = {k: getattr(old, k) for k in CONTACT_FIELDS}
    row.update(rec.values)
    for key in rec.empty:
        if options.clear_empty:
            row[key] = DEFAULTS.get(key, row[key])
        elif row[key] != DEFAULTS.get(key, row[key]):
            kept.append((rec.code, key))
    parent = parent_code
    if rec.parent is not None:
        parent = rec.parent
    elif rec.has_parent_column and options.clear_empty:
        parent = None
    elif rec.has_parent_column and parent_code is not None:
        kept.append((rec.code, "parent"))
    return row, parent


def _plan(records: list[_Record], existing: dict[str, Any], hierarchy: Hierarchy,
          options: ImportOptions, report: ImportReport, problems: list[Problem]) -> _Plan:
    """Check codes, parents, levels and cycles across the file and the stored tree."""
    by_code: dict[str, _Record] = {}
    for rec in records:
        if rec.code in by_code:
            problems.append(Problem("units.code_repeated", where=_at(rec.line, rec.code), other=by_code[rec.code].line))
            continue
        by_code[rec.code] = rec
    id_to_code = {r.id: code for code, r in existing.items()}
    parent_of: dict[str, str | None] = {code: id_to_code.get(r.parent_id) for code, r in existing.items()}
    level_of = {code: r.level for code, r in existing.items()}
    active = {code: r.active for code, r in existing.items()}
    final: dict[str, dict[str, Any]] = {}
    for code, rec in by_code.items():
        row, parent = _final_row(rec, existing.get(code), options, report.kept, parent_of.get(code))
        final[code] = row
        parent_of[code] = parent
        level_of[code] = row.get("level", "")
        active[code] = row["active"]
    report.missing = sorted(code for code, r in existing.items() if r.active and code not in by_code)
    dropped = report.missing if options.deactivate_missing else []
    for code in dropped:
        old = existing[code]
        final[code] = {**{k: getattr(old, k) for k in CONTACT_FIELDS}, "active": False}
        active[code] = False
    for code, rec in by_code.items():
        where = _at(rec.line, code)
        parent = parent_of[code]
        if parent is None:
            continue
        if parent == code:
            problems.append(Problem("units.own_parent", where=where))
            continue
        if parent not in level_of:
            problems.append(Problem("units.parent_unknown", where=where, parent=parent))
            continue
        level, parent_level = level_of[code], level_of[parent]
        if level in hierarchy.names and parent_level in hierarchy.names and \
                not hierarchy.may_sit_under(level, parent_level):
            allowed = ", ".join(hierarchy.level(level).parents) or Problem("units.top_level")
            problems.append(Problem("units.parent_level", where=where, level=level, parent=parent,
                                    parent_level=parent_level, allowed=allowed))
    _check_cycles(by_code, parent_of, problems)
    _check_deactivations(by_code, parent_of, active, problems)
    return _Plan(by_code, parent_of, level_of, final, dropped)


def _check_cycles(by_code: dict[str, _Record], parent_of: dict[str, str | None],
                  problems: list[Problem]) -> None:
    state: dict[str, int] = {}  # 1: on the current walk, 2: known to reach a root
    for start in by_code:
        walk = []
        code: str | None = start
        while code is not None and state.get(code) is None:
            state[code] = 1
            walk.append(code)
            code = parent_of.get(code)
        if code is not None and state.get(code) == 1:
            loop = walk[walk.index(code):]
            if any(c in by_code for c in loop):
                lines = [Problem("units.code_at_line", code=c, line=by_code[c].line) for c in loop if c in by_code]
                problems.append(Problem("units.loop", loop=" → ".join(loop), code=code, lines=lines))
        for c in walk:
            state[c] = 2


def _check_deactivations(by_code: dict[str, _Record], parent_of: dict[str, str | None],
                         active: dict[str, bool], problems: list[Problem]) -> None:
    """Refuse an active unit under an inactive one, naming the row to fix."""
    for code, parent in parent_of.items():
        if parent is None or not active.get(code) or active.get(parent, True):
            continue
        if code in by_code and parent in by_code:
            problems.append(Problem("units.active_under_inactive", where=_at(by_code[code].line, code), parent=parent,
                                    line=by_code[parent].line))
        elif parent in by_code:
            problems.append(Problem("units.active_below", where=_at(by_code[parent].line, parent), code=code))
        elif code in by_code:
            problems.append(Problem("units.parent_deactivated", where=_at(by_code[code].line, code), parent=parent))


def _diff(plan: _Plan, existing: dict[str, Any], report: ImportReport) -> None:
    """Fill the report with what the import changes, without writing."""
    id_to_code = {r.id: code for code, r in existing.items()}
    for code, row in plan.final.items():
        old = existing.get(code)
        if old is None:
            report.created.append(code)
            continue
        changes = {k: [getattr(old, k), row[k]] for k in CONTACT_FIELDS if getattr(old, k) != row[k]}
        old_parent = id_to_code.get(old.parent_id)
        if old_parent != plan.parent_of[code]:
            report.moved[code] = (old_parent, plan.parent_of[code])
            changes["parent"] = [old_parent, plan.parent_of[code]]
        if old.code != code:
            changes["code"] = [old.code, code]
        if changes:
            report.changes[code] = changes
            deactivated = old.active and not row["active"]
            (report.deactivated if deactivated else report.updated).append(code)
        else:
            report.unchanged += 1


def _write(session: Session, plan: _Plan, existing: dict[str, Any], clock: Clock, actor: str,
           progress: Progress | None, report: ImportReport) -> None:
    _diff(plan, existing, report)
    now = clock()
    next_id = (session.scalar(select(func.max(Unit.id))) or 0) + 1
    ids = {code: r.id for code, r in existing.items()}
    for code in plan.records:
        if code not in ids:
            ids[code] = next_id
            next_id += 1
    paths: dict[str, str] = {}

    def path_of(code: str) -> str:
        # iterative: the tree may be deep enough to exhaust recursion in a bad file
        chain = []
        c: str | None = code
        while c is not None and c not in paths:
            chain.append(c)
            c = plan.parent_of.get(c)
        prefix = paths[c] if c is not None else "/"
        for item in reversed(chain):
            prefix = f"{prefix}{ids[item]}/"
            paths[item] = prefix
        return paths[code]

    deactivated, dropped = set(report.deactivated), set(plan.dropped)
    new_rows, changed_rows = [], []
    for code, values in plan.final.items():
        parent = plan.parent_of[code]
        row = {**values, "code": code, "parent_id": ids[parent] if parent else None,
               "path": path_of(code), "updated_at": now}
        row["depth"] = row["path"].count("/") - 2
        old = existing.get(code)
        if old is None:
            new_rows.append({**row, "id": ids[code], "created_at": now})
            continue
        if code in report.changes:
            changed_rows.append({**row, "b_id": old.id})
            reason = Problem("audit.not_in_file") if code in dropped else None
            record(session, clock, actor, "unit.deactivate" if code in deactivated else "unit.update",
                   unit_id=old.id, reason=reason,
                   details={"code": code, "changes": report.changes[code]})
        elif old.path != row["path"]:  # listed as before, under an ancestor that moved
            changed_rows.append({**row, "b_id": old.id})
    moved = {code: paths[code] for code in plan.final
             if code in existing and existing[code].path != paths[code]}
    if new_rows:
        new_rows.sort(key=lambda r: r["depth"])  # parents first: foreign keys are immediate
        for start in range(0, len(new_rows), WRITE_BATCH):
            Dialect.of(session).insert_rows(session, Unit.__table__, new_rows[start:start + WRITE_BATCH])
            if progress:
                progress("write", min(start + WRITE_BATCH, len(new_rows)), len(new_rows))
        Dialect.of(session).reset_sequence(session, "units")
    written = (*CONTACT_FIELDS, "code", "parent_id", "path", "depth", "updated_at")
    if changed_rows:
        stmt = (update(Unit.__table__).where(Unit.__table__.c.id == bindparam("b_id"))
                .values({k: bindparam(k) for k in written}))
        session.execute(stmt, [{k: r[k] for k in (*written, "b_id")} for r in changed_rows])
    for code, new_path in moved.items():
        _move_subtree(session, existing[code].path, new_path, set(plan.final))


def _move_subtree(session: Session, old: str, new: str, listed: set[str]) -> None:
    """Rewrite the paths of the units under a moved one that the file did not list."""
    t = Unit.__table__
    session.execute(
        update(t)
        .where(t.c.path.like(old + "%"), t.c.path != old, t.c.code.not_in(listed))
        .values(path=new + func.substr(t.c.path, len(old) + 1),
                depth=t.c.depth + (new.count("/") - old.count("/")))
        .execution_options(synchronize_session=False)
    )

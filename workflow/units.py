"""Import the unit tree from a CSV or YAML file: every row is checked, then all or nothing.

Columns (DESIGN.md): `code,name,level,parent,secretary,email,zalo_user_id,phone,
has_committee`, plus optional `active` (yes/no) to deactivate a unit. Re-importing an
updated file updates units in place, matched by code; it never duplicates them. A bad row
(unknown parent, duplicate code, a cycle, a level that cannot sit under its parent's, a
malformed email or phone) stops the whole import, and every bad row is listed by line.

Built for the national tree: the existing tree is read once, rows are checked in memory,
and new units go in by bulk insert with ids assigned here, so 300,000 rows take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from config.hierarchy import Hierarchy
from workflow.audit import record
from workflow.clock import Clock
from workflow.db import Database, insert_rows
from workflow.errors import BadInput
from workflow.models import Unit
from workflow.tabular import Row, parse_bool, read_rows

COLUMNS = ("code", "name", "level", "parent", "secretary", "email", "zalo_user_id", "phone",
           "has_committee")
OPTIONAL_COLUMNS = ("active",)
REQUIRED = ("code", "name", "level")
CONTACT_FIELDS = ("name", "level", "secretary", "email", "zalo_user_id", "phone",
                  "has_committee", "active")

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
PHONE_RE = re.compile(r"^(?:\+?84|0)(\d{9})$")

Progress = Callable[[str, int, int], None]
#: rows written per step of the progress bar
WRITE_BATCH = 20_000


@dataclass
class ImportReport:
    """What an import changed, for the CLI to print and the audit log to keep."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {"created": len(self.created), "updated": len(self.updated),
                "deactivated": len(self.deactivated), "unchanged": self.unchanged}


@dataclass
class _Record:
    line: int
    code: str
    values: dict[str, Any]
    parent: str | None


def normalise_phone(raw: str) -> str | None:
    """Return a Vietnamese mobile number as 0xxxxxxxxx, or None when it is not one."""
    digits = re.sub(r"[\s.\-()]", "", raw)
    match = PHONE_RE.match(digits)
    return "0" + match.group(1) if match else None


def _parse_rows(rows: list[Row], columns: list[str], hierarchy: Hierarchy,
                problems: list[str]) -> list[_Record]:
    unknown = [c for c in columns if c and c not in COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        known = ", ".join(COLUMNS + OPTIONAL_COLUMNS)
        problems.append(f"unknown column(s) {', '.join(unknown)} (columns: {known})")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
        return []
    records = []
    for row in rows:
        v = row.values
        where = f"line {row.line}"
        if "__extra__" in v:
            problems.append(f"{where}: more cells than columns")
        code = str(v.get("code") or "").strip()
        if not code:
            problems.append(f"{where}: code is empty")
            continue
        where = f"line {row.line} ({code})"
        if not CODE_RE.match(code):
            problems.append(f"{where}: code '{code}' may hold only letters, digits, '.', '_' and '-'")
        values: dict[str, Any] = {}
        name = str(v.get("name") or "").strip()
        if not name:
            problems.append(f"{where}: name is empty")
        values["name"] = name
        level = str(v.get("level") or "").strip()
        if level not in hierarchy.names:
            problems.append(f"{where}: level '{level}' is not one of {', '.join(hierarchy.names)}")
        values["level"] = level
        for key in ("secretary", "zalo_user_id"):
            text_value = str(v.get(key) or "").strip()
            values[key] = text_value or None
        email = str(v.get("email") or "").strip()
        if email and not EMAIL_RE.match(email):
            problems.append(f"{where}: email '{email}' is not an email address")
        values["email"] = email or None
        phone = str(v.get("phone") or "").strip()
        values["phone"] = None
        if phone:
            values["phone"] = normalise_phone(phone)
            if values["phone"] is None:
                problems.append(f"{where}: phone '{phone}' is not a Vietnamese mobile number "
                                "(0xxxxxxxxx or +84xxxxxxxxx)")
        for key, default in (("has_committee", False), ("active", True)):
            raw = v.get(key)
            try:
                values[key] = default if raw in (None, "") else parse_bool(raw)
            except ValueError:
                problems.append(f"{where}: {key} '{raw}' is not yes/no (yes/no, true/false, 1/0, có/không)")
                values[key] = default
        parent = str(v.get("parent") or "").strip() or None
        records.append(_Record(row.line, code, values, parent))
    return records


def import_units(db: Database, path: Path, hierarchy: Hierarchy, clock: Clock, actor: str,
                 progress: Progress | None = None,
                 after_write: Callable[[Session], None] | None = None) -> ImportReport:
    """Check every row of `path` and write them all in one transaction, or write nothing.

    `after_write` runs inside the same transaction (the composition root uses it to give
    new units their cycles in open campaigns).
    """
    columns, rows = read_rows(path)
    problems: list[str] = []
    records = _parse_rows(rows, columns, hierarchy, problems)
    if progress:
        progress("read", len(records), len(records))
    with db.session(write=True) as session:
        if db.dialect == "postgresql":
            session.execute(text("LOCK TABLE units IN SHARE ROW EXCLUSIVE MODE"))
        existing = {r.code: r for r in session.execute(
            select(Unit.id, Unit.code, Unit.level, Unit.parent_id, Unit.path, Unit.name,
                   Unit.secretary, Unit.email, Unit.zalo_user_id, Unit.phone,
                   Unit.has_committee, Unit.active))}
        plan = _plan(records, existing, hierarchy, problems)
        if problems:
            raise BadInput(
                f"{path.name}: {len(problems)} problem(s) found; nothing was imported.", problems)
        report = _write(session, plan, existing, clock, actor, progress)
        record(session, clock, actor, "units.import",
               details={"file": path.name, **report.summary()})
        if after_write:
            after_write(session)
    return report


@dataclass
class _Plan:
    records: dict[str, _Record]
    parent_of: dict[str, str | None]
    level_of: dict[str, str]


def _plan(records: list[_Record], existing: dict[str, Any], hierarchy: Hierarchy,
          problems: list[str]) -> _Plan:
    """Check codes, parents, levels and cycles across the file and the stored tree."""
    by_code: dict[str, _Record] = {}
    for rec in records:
        if rec.code in by_code:
            problems.append(f"line {rec.line} ({rec.code}): duplicate code, first on line {by_code[rec.code].line}")
            continue
        by_code[rec.code] = rec
    id_to_code = {r.id: code for code, r in existing.items()}
    parent_of: dict[str, str | None] = {code: id_to_code.get(r.parent_id) for code, r in existing.items()}
    level_of = {code: r.level for code, r in existing.items()}
    active = {code: r.active for code, r in existing.items()}
    for code, rec in by_code.items():
        parent_of[code] = rec.parent
        level_of[code] = rec.values["level"]
        active[code] = rec.values["active"]
    for code, rec in by_code.items():
        where = f"line {rec.line} ({code})"
        parent = rec.parent
        if parent is None:
            continue
        if parent == code:
            problems.append(f"{where}: a unit cannot be its own parent")
            continue
        if parent not in level_of:
            problems.append(f"{where}: parent '{parent}' is neither in the file nor already imported")
            continue
        level, parent_level = rec.values["level"], level_of[parent]
        if level in hierarchy.names and parent_level in hierarchy.names and \
                not hierarchy.may_sit_under(level, parent_level):
            allowed = ", ".join(hierarchy.level(level).parents) or "none (it is the top level)"
            problems.append(f"{where}: a '{level}' cannot sit under '{parent}', a '{parent_level}' "
                            f"(allowed parents: {allowed})")
        if rec.values["active"] and not active.get(parent, True):
            problems.append(f"{where}: active unit under '{parent}', which is inactive")
    _check_cycles(by_code, parent_of, problems)
    _check_deactivations(by_code, parent_of, active, problems)
    return _Plan(by_code, parent_of, level_of)


def _check_cycles(by_code: dict[str, _Record], parent_of: dict[str, str | None],
                  problems: list[str]) -> None:
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
                lines = ", ".join(f"{c} (line {by_code[c].line})" for c in loop if c in by_code)
                problems.append(f"the parents form a cycle: {' → '.join(loop)} → {code}; rows {lines}")
        for c in walk:
            state[c] = 2


def _check_deactivations(by_code: dict[str, _Record], parent_of: dict[str, str | None],
                         active: dict[str, bool], problems: list[str]) -> None:
    for code, parent in parent_of.items():
        if parent in by_code and not by_code[parent].values["active"] and active.get(code):
            rec = by_code[parent]
            problems.append(f"line {rec.line} ({parent}): cannot deactivate it while '{code}' "
                            "under it stays active; deactivate or move that unit too")


def _write(session: Session, plan: _Plan, existing: dict[str, Any], clock: Clock, actor: str,
           progress: Progress | None) -> ImportReport:
    now = clock()
    report = ImportReport()
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

    new_rows, changed_rows = [], []
    for code, rec in plan.records.items():
        parent = plan.parent_of[code]
        row = {**rec.values, "code": code, "parent_id": ids[parent] if parent else None,
               "path": path_of(code), "updated_at": now}
        row["depth"] = row["path"].count("/") - 2
        old = existing.get(code)
        if old is None:
            new_rows.append({**row, "id": ids[code], "created_at": now})
            report.created.append(code)
            continue
        changes = {k: [getattr(old, k), row[k]] for k in (*CONTACT_FIELDS, "parent_id")
                   if getattr(old, k) != row[k]}
        if changes:
            changed_rows.append({**row, "b_id": old.id})
            deactivated = old.active and not row["active"]
            (report.deactivated if deactivated else report.updated).append(code)
            record(session, clock, actor, "unit.deactivate" if deactivated else "unit.update",
                   unit_id=old.id, details={"code": code, "changes": changes})
        else:
            report.unchanged += 1
            if old.path != row["path"]:  # listed as before, under an ancestor that moved
                changed_rows.append({**row, "b_id": old.id})
    moved = {code: paths[code] for code in plan.records
             if code in existing and existing[code].path != paths[code]}
    if new_rows:
        new_rows.sort(key=lambda r: r["depth"])  # parents first: foreign keys are immediate
        for start in range(0, len(new_rows), WRITE_BATCH):
            insert_rows(session, Unit.__table__, new_rows[start:start + WRITE_BATCH])
            if progress:
                progress("write", min(start + WRITE_BATCH, len(new_rows)), len(new_rows))
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT setval(pg_get_serial_sequence('units', 'id'), "
                                 "(SELECT max(id) FROM units))"))
    if changed_rows:
        stmt = (update(Unit.__table__).where(Unit.__table__.c.id == bindparam("b_id"))
                .values({k: bindparam(k) for k in (*CONTACT_FIELDS, "parent_id", "path", "depth",
                                                    "updated_at")}))
        session.execute(stmt, [{k: r[k] for k in (*CONTACT_FIELDS, "parent_id", "path", "depth",
                                                   "updated_at", "b_id")} for r in changed_rows])
    for code, new_path in moved.items():
        _move_subtree(session, existing[code].path, new_path, set(plan.records))
    return report


def _move_subtree(session: Session, old: str, new: str, in_file: set[str]) -> None:
    """Rewrite the paths of the units under a moved one that the file did not list."""
    t = Unit.__table__
    session.execute(
        update(t)
        .where(t.c.path.like(old + "%"), t.c.path != old, t.c.code.not_in(in_file))
        .values(path=new + func.substr(t.c.path, len(old) + 1),
                depth=t.c.depth + (new.count("/") - old.count("/")))
        .execution_options(synchronize_session=False)
    )


def subtree(unit: Unit):  # type: ignore[no-untyped-def]
    """Return the SQL condition "is `unit` or under it" on the units table."""
    return Unit.path.like(unit.path + "%")

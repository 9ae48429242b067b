"""Record many stages at once from a table of progress: `kiemdiem progress import FILE`.

District offices collect paper reports and type them into a spreadsheet (`code, stage,
date[, note]`). A row may name a later stage than the next one: every stage of the unit's
flow up to it was reached by that date, exactly as if `advance` had been run for each.

The 300,000 cells of the country reporting one stage must go in within a minute, so the
import does not call `advance` per row. It applies the same rules set-based:
- the state machine's order (`stage_applies`, `in_order`): each row becomes the steps of the
  unit's flow between its state and the stage named, planned in Python from one read of the
  cycles; a stage outside the flow or already passed is said so, per line;
- the optimistic version: one `UPDATE … FROM` a temporary table of moves matches each cycle
  on its id *and* the version read, and must change exactly as many rows as planned;
- the audit trail: one `cycle.advance` entry per step, as `advance` writes them, inserted
  at once (`Dialect.insert_rows`).
Steps into `forms_submitted` and `aggregated` have guards that read other units (children
submitted, results valid, parent received) and side effects (the roll-up), so they go
through `CycleService.advance_in` itself, one by one, children before parents, in the same
transaction. All rows or none: any bad row or refused step rolls the whole import back.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Integer, MetaData, String, Table, and_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from config.zone import DEFAULT_ZONE
from workflow.db import Database, affected
from workflow.errors import BadInput, Conflict, Label, Problem, Refused
from workflow.lookup import get_campaign
from workflow.models import AuditEntry, Campaign, Cycle, Unit, UTCDateTime
from workflow.service import CycleService
from workflow.sqlrender import Dialect
from workflow.stages import EVENT_FOR, LABEL, RANK, STAGES, stages_of
from workflow.tabular import Row, header_key

#: a reported day is recorded at its local noon (or now, if that is earlier)
REPORTED_AT = time(12, 0)
#: header cells accepted for each column (compared by `tabular.header_key`)
ALIASES = {"code": "code", "mã đơn vị": "code", "mã": "code", "stage": "stage", "bước": "stage",
           "giai đoạn": "stage", "date": "date", "ngày": "date", "note": "note", "ghi chú": "note"}
REQUIRED = ("code", "stage", "date")
#: the office headers a missing column names (the file's words: not translated)
OFFICE_HEADERS = "Mã đơn vị, Bước, Ngày[, Ghi chú]"
#: stages a guard of which reads other units: moved one by one through the service
GUARDED = ("forms_submitted", "aggregated")
STAGE_BY_NAME = {**{header_key(s): s for s in STAGES}, **{header_key(LABEL[s]): s for s in STAGES}}
SOURCE = "progress import"
#: a report lists each change or already-done row up to this many, then only the counts
SHOWN = 50
#: audit entries built and inserted at a time
AUDIT_CHUNK = 20_000

_moves = Table("progress_moves", MetaData(),
               Column("cycle_id", Integer, primary_key=True), Column("version", Integer),
               Column("state", String(32)), Column("stage_rank", Integer),
               Column("changed_at", UTCDateTime()), prefixes=["TEMPORARY"])


class ProgressRefused(Refused):
    """A step a guard refused (or a concurrent change): the import wrote nothing (exit 1)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the file, understood."""

    line: int
    code: str
    stage: str
    day: date
    note: str | None


@dataclass(slots=True)
class _Target:
    """A unit named in the file, as read from the database."""

    unit_id: int
    depth: int
    cycle_id: int | None
    state: str
    mask: int
    version: int
    changed_at: datetime | None


@dataclass
class ProgressReport:
    """What an import did (or, dry, would do): counts and codes the edge words
    (`kiemdiem.reports.progress_lines`), in the reader's language."""

    rows: int = 0
    units: int = 0
    steps: int = 0
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)   # (from, to) -> units
    already_done: list[Problem] = field(default_factory=list)          # one per row
    changes: list[tuple[int, str, str, str]] = field(default_factory=list)  # the first SHOWN steps
    also_moved: list[str] = field(default_factory=list)
    dry_run: bool = False


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def reported_at(day: date, now: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The instant a stage reported as done on `day` is recorded at: its local noon, or now."""
    return min(datetime.combine(day, REPORTED_AT, zone), now)


def _show(day: date) -> str:
    return f"{day:%d/%m/%Y}"


@lru_cache(maxsize=4096)  # a file holds few distinct days and stage spellings
def parse_day(value: Any) -> date:
    """Read a date cell: a spreadsheet date, `2026-11-20`, `20/11/2026` or `20-11-2026`."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text)  # the common case, without strptime's format parsing
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


@lru_cache(maxsize=4096)
def parse_stage(value: Any) -> str | None:
    """A stage by its name (`cell_met`) or its Vietnamese label, in any case; None if unknown."""
    return STAGE_BY_NAME.get(header_key(unicodedata.normalize("NFC", str(value or ""))))


def parse_entries(columns: Sequence[str], rows: Sequence[Row]) -> tuple[list[Entry], list[Problem]]:
    """Read the rows; return the entries and one problem per bad row, naming its line."""
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise BadInput("progress.columns_missing", columns=", ".join(missing), headers=OFFICE_HEADERS)
    entries: list[Entry] = []
    problems: list[Problem] = []
    for row in rows:
        values = row.values
        raw_code = values.get("code")
        code = (str(int(raw_code)) if isinstance(raw_code, float) and raw_code.is_integer()
                else str(raw_code if raw_code is not None else "")).strip()
        stage = parse_stage(values.get("stage"))
        bad = []
        if not code:
            bad.append(Problem("row.no_code"))
        if stage is None:
            bad.append(Problem("row.stage_unknown", stage=values.get("stage") or "", stages=", ".join(STAGES[1:])))
        elif stage == STAGES[0]:
            bad.append(Problem("row.stage_initial", label=Label(STAGES[0])))
        try:
            day = parse_day(values.get("date"))
        except ValueError:
            bad.append(Problem("row.date_unreadable", date=values.get("date") or ""))
        if bad:
            problems.append(Problem("row.bad", line=row.line, reasons=bad))
            continue
        note = str(values.get("note") or "").strip() or None
        entries.append(Entry(row.line, code, stage, day, note))  # type: ignore[arg-type]
    return entries, problems


@dataclass
class _Plan:
    simple: dict[int, tuple[_Target, str, datetime]]            # cycle_id -> target, final state, at
    audit: list[tuple[_Target, str, str, datetime, Entry]]  # target, from, to, reached, row
    guarded: list[tuple[Entry, _Target, str, datetime]]          # entry, target, stage, at


class ProgressImport:
    """Applies a table of progress for an actor at the clock's time, all or nothing."""

    def __init__(self, db: Database, service: CycleService) -> None:
        self.db, self.service, self.clock = db, service, service.clock

    def run(self, columns: Sequence[str], rows: Sequence[Row], *, actor: str,
            year: int | None = None, dry_run: bool = False, under: str | None = None
            ) -> ProgressReport:
        """Check every row, then record them all in one transaction (none on a dry run).

        `under` (a unit path) limits the rows to a subtree: a unit outside it is unknown.
        Bad rows raise `BadInput` listing each with its line; a refused step `ProgressRefused`.
        """
        entries, problems = parse_entries(columns, rows)
        report = ProgressReport(rows=len(rows), dry_run=dry_run)
        try:
            with self.db.session(write=True) as session:
                campaign = get_campaign(session, year)
                targets = self._targets(session, campaign, {e.code for e in entries}, under)
                plan = self._plan(campaign, entries, targets, problems, report,
                                  scoped=under is not None)
                if problems:
                    raise BadInput("progress.rows_wrong", sorted(problems, key=_line_of), count=len(problems))
                self._apply_simple(session, campaign, plan, actor)
                self._apply_guarded(session, campaign, plan, report, actor)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        except StaleDataError as exc:
            raise Conflict("progress.changed_meanwhile") from exc
        return report

    def _targets(self, session: Session, campaign: Campaign, codes: set[str],
                 under: str | None) -> dict[str, _Target]:
        query = (select(Unit.code, Unit.id, Unit.depth, Cycle.id, Cycle.state, Cycle.stages_mask,
                        Cycle.version, Cycle.state_changed_at)
                 .outerjoin(Cycle, and_(Cycle.unit_id == Unit.id, Cycle.campaign_id == campaign.id)))
        if under:
            query = query.where(Unit.path.like(under + "%"))
        found: dict[str, _Target] = {}
        if not codes:
            return found
        if len(codes) <= 2_000:  # above, most of the tree: one pass beats many IN lists
            query = query.where(Unit.code.in_(sorted(codes)))
        for code, uid, depth, cid, state, mask, version, changed in session.execute(query):
            if code in codes:
                found[code] = _Target(uid, depth, cid, state or "", mask or 0, version or 0, changed)
        return found

    def _plan(self, campaign: Campaign, entries: list[Entry], targets: dict[str, _Target],
              problems: list[Problem], report: ProgressReport, scoped: bool) -> _Plan:
        now = self.clock()
        today = now.astimezone(DEFAULT_ZONE).date()
        by_unit: dict[str, list[Entry]] = defaultdict(list)
        for e in entries:
            by_unit[e.code].append(e)
        plan = _Plan({}, [], [])
        for code, rows in by_unit.items():
            target = targets.get(code)
            if target is None:
                missing = "row.unit_unknown_in_scope" if scoped else "row.unit_unknown"
                problems.extend(Problem(missing, line=e.line, code=code) for e in rows)
                continue
            if target.cycle_id is None:
                problems.extend(Problem("row.not_in_campaign", line=e.line, code=code, year=campaign.year)
                                for e in rows)
                continue
            self._plan_unit(code, target, rows, now, today, problems, report, plan)
        return plan

    def _plan_unit(self, code: str, target: _Target, rows: list[Entry], now: datetime,
                   today: date, problems: list[Problem], report: ProgressReport, plan: _Plan) -> None:
        flow = _flow(target.mask)
        seen: dict[str, int] = {}
        state = target.state
        previous = _local_day(target.changed_at or now)
        changed = False
        for e in sorted(rows, key=lambda r: (RANK[r.stage], r.line)) if len(rows) > 1 else rows:
            label = Problem("stage.named", label=Label(e.stage), stage=e.stage)
            if e.stage in seen:
                problems.append(Problem("row.stage_repeated", line=e.line, label=label, code=code,
                                        other=seen[e.stage]))
                continue
            seen[e.stage] = e.line
            if e.stage not in flow:
                problems.append(Problem("row.stage_not_in_flow", line=e.line, code=code, label=label))
                continue
            if e.day > today:
                problems.append(Problem("row.day_future", line=e.line, day=_show(e.day), today=_show(today)))
                continue
            if RANK[e.stage] <= RANK[state]:
                report.already_done.append(Problem("progress.row_done", line=e.line, code=code, label=label))
                continue
            if e.day < previous:
                what = (Problem("progress.campaign_began") if state == STAGES[0]
                        else Problem("progress.stage_completed", label=Label(state)))
                problems.append(Problem("row.day_before", line=e.line, day=_show(e.day), code=code, what=what,
                                        previous=_show(previous)))
                continue
            at = _reported_at(e.day, now)
            for stage in flow[flow.index(state) + 1: flow.index(e.stage) + 1]:
                if stage in GUARDED:  # the last stages of every flow: nothing simple follows
                    plan.guarded.append((e, target, stage, at))
                else:
                    plan.simple[target.cycle_id] = (target, stage, at)  # type: ignore[index]
                    plan.audit.append((target, state, stage, at, e))
                    report.steps += 1
                if len(report.changes) < SHOWN:
                    report.changes.append((e.line, code, state, stage))
                state = stage
            changed = True
            previous = e.day
        if changed:
            report.units += 1
            report.moves[(target.state, state)] += 1

    def _apply_simple(self, session: Session, campaign: Campaign, plan: _Plan, actor: str) -> None:
        if not plan.simple:
            return
        connection = session.connection()
        _moves.create(connection)
        Dialect.of(session).insert_rows(session, _moves, [
            {"cycle_id": cid, "version": t.version, "state": state, "stage_rank": RANK[state],
             "changed_at": at} for cid, (t, state, at) in plan.simple.items()])
        cycles = Cycle.__table__
        moved = affected(session.execute(
            update(cycles).where(cycles.c.id == _moves.c.cycle_id, cycles.c.version == _moves.c.version)
            .values(state=_moves.c.state, stage_rank=_moves.c.stage_rank,
                    state_changed_at=_moves.c.changed_at, version=cycles.c.version + 1)))
        _moves.drop(connection)
        if moved != len(plan.simple):
            raise Conflict("progress.units_changed", count=len(plan.simple) - moved)
        rows = _audit_rows(plan, campaign, actor, self.clock())
        while chunk := list(islice(rows, AUDIT_CHUNK)):  # a chunk at a time: 300,000 dicts weigh 400 MB
            Dialect.of(session).insert_rows(session, AuditEntry.__table__, chunk)
        session.expire_all()

    def _apply_guarded(self, session: Session, campaign: Campaign, plan: _Plan,
                       report: ProgressReport, actor: str) -> None:
        """The steps into `forms_submitted` (deepest units first, so children go before their
        parent) then `aggregated` (shallowest first), each through the service's guards."""
        refusals: list[Problem] = []
        refused: set[int] = set()
        steps = sorted(plan.guarded, key=lambda s: (0, -s[1].depth, s[0].line)
                       if s[2] == "forms_submitted" else (1, s[1].depth, s[0].line))
        for entry, target, stage, at in steps:
            cycle = session.get(Cycle, target.cycle_id)
            unit = session.get(Unit, target.unit_id)
            assert cycle is not None and unit is not None
            if cycle.stage_rank >= RANK[stage] or cycle.id in refused:
                continue  # rolled up with its parent meanwhile, or its previous step refused
            try:
                outcome = self.service.advance_in(
                    session, campaign, unit, cycle, EVENT_FOR[stage], at=at, actor=actor,
                    note=entry.note, details={"source": SOURCE, "line": entry.line})
            except Refused as exc:
                refusals.append(Problem("row.refused", line=entry.line, reason=exc.problem))
                refused.add(cycle.id)
                continue
            report.steps += 1
            report.also_moved.extend(outcome.also_moved)
        if refusals:
            raise ProgressRefused("progress.rows_refused", refusals, count=len(refusals))


def _audit_rows(plan: _Plan, campaign: Campaign, actor: str, now: datetime
                ) -> Iterator[dict[str, Any]]:
    """The entries `CycleService.advance_in` writes for the same steps (no guard overridden),
    `details` as JSON text: the part shared by the steps of one kind and day is encoded once."""
    shared: dict[tuple[str, datetime], str] = {}
    for target, before, after, at, entry in plan.audit:
        head = shared.get((after, at))
        if head is None:
            head = shared[(after, at)] = json.dumps(
                {"event": EVENT_FOR[after], "forced": None, "note": None,
                 "reached_at": at.isoformat(), "source": SOURCE})[:-1] + ', "line": '
        yield {"at": now, "actor": actor, "action": "cycle.advance", "campaign_id": campaign.id,
               "unit_id": target.unit_id, "cycle_id": target.cycle_id, "from_state": before,
               "to_state": after, "reason": entry.note, "details": f"{head}{entry.line}}}",
               "reached_at": at}



_flow = lru_cache(maxsize=None)(stages_of)


@lru_cache(maxsize=4096)
def _local_day(instant: datetime) -> date:
    return instant.astimezone(DEFAULT_ZONE).date()


@lru_cache(maxsize=4096)
def _reported_at(day: date, now: datetime) -> datetime:
    return reported_at(day, now)


def _line_of(problem: Problem) -> int:
    line = problem.data.get("line")
    return line if isinstance(line, int) else 0

"""Use cases on stored results: submit, set a collective's level, amend, check, show.

Each runs in one transaction and writes its audit entry with it. A file with a problem, or
results that break a rule, store nothing (exit 2 / exit 1) unless an officer forces them
with a reason: forced results are kept as `valid = false`, and the `forms_submitted` gate
(`gate.py`) still stops them until that, too, is forced.

The review date that "less than 6 months" counts back from is the day the cell met: the
moment its cycle reached `cell_met` (as recorded, `advance --at` included), in the
campaign's time zone. Where there is no meeting yet (a check before it, a parent's own
level) it is 31/12 of the campaign year. `--review-date` overrides both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from workflow.audit import record
from workflow.clock import Clock
from workflow.db import Database
from workflow.errors import BadInput, Label, NotFound, Problem, Refused
from workflow.lookup import load_cycle
from workflow.models import Campaign, Cycle, MemberResult, Unit, UnitResult
from workflow.results.levels import ALL, HT, HTT, HTXS, KHT, NOT_CLASSIFIED, PENDING, parse_level
from workflow.results.parse import COLLECTIVE_COLUMNS, COLLECTIVE_ONLY, Submission, read_levels, read_results
from workflow.results.rules import Context, Violation, collective_quota, tally
from workflow.results.scope import member_peers, sibling_levels
from workflow.results.settings import settings_for
from workflow.results.sheet import Counts, Member, Sheet
from workflow.results.validator import validate, warnings
from workflow.stages import classifies_members

COUNT_COLUMN = {HTXS: "count_htxs", HTT: "count_htt", HT: "count_ht", KHT: "count_kht",
                NOT_CLASSIFIED: "count_not_classified", PENDING: "count_pending"}
REASON_COLUMN = {"new_member": "nc_new_member", "exempt": "nc_exempt", "suspended": "nc_suspended",
                 "other": "nc_other"}
LOWER_COLUMN = {"quota": "lower_quota", "ground": "lower_ground", "other": "lower_other"}
MEMBER_FIELDS = tuple(f.name for f in fields(Member) if f.name not in ("line", *COLLECTIVE_ONLY))


@dataclass
class Stored:
    """What a use case stored or found, for the CLI to print."""

    unit: str
    counts: Counts
    collective_level: str | None
    violations: list[Violation]
    forced: bool = False
    #: implausible but not refused (fewer than 3 full members)
    warnings: list[Violation] = field(default_factory=list)


def review_date_for(campaign: Campaign, cycle: Cycle) -> date:
    if cycle.state == "cell_met":
        return cycle.state_changed_at.astimezone(ZoneInfo(campaign.timezone)).date()
    return date(campaign.year, 12, 31)


def context_for(campaign: Campaign, review_date: date, peers: tuple[int, int] = (0, 0)) -> Context:
    """The rules' context: the campaign's rule set, quota and settings (plan or default)."""
    chosen = settings_for(campaign.rule_set, campaign.plan)
    return Context(campaign.rule_set, campaign.excellent_quota, review_date, chosen["excellent_vote"],
                   chosen["quota_scope"], peers, campaign.year)


def _unit_context(session: Session, campaign: Campaign, unit: Unit, review_date: date) -> Context:
    return context_for(campaign, review_date, member_peers(session, campaign, unit))


def record_json(record: Member | None) -> dict[str, Any] | None:
    """A collective's record as stored: the columns it states, dates as ISO text."""
    if record is None:
        return None
    out = {}
    for column in COLLECTIVE_COLUMNS:
        value = getattr(record, column)
        if value not in (None, False):
            out[column] = value.isoformat() if isinstance(value, date) else value
    return out


def record_from(data: dict[str, Any] | None, name: str) -> Member | None:
    if data is None:
        return None
    values: dict[str, Any] = {k: date.fromisoformat(v) if k == "disciplined_on" else v for k, v in data.items()}
    return Member(name=name, level="", **values)


def _collective_quotas(session: Session, campaign: Campaign, unit: Unit, level: str | None) -> list[Violation]:
    """The collectives' quota where the parent decides: among `unit`'s siblings with `unit` at
    `level`, and among `unit`'s own children (their levels are final once it gets its own)."""
    out = []
    if unit.parent_id is not None and level is not None:
        levels = sibling_levels(session, campaign, unit.parent_id)
        levels[unit.code] = level
        out += collective_quota(levels, {}, campaign.excellent_quota)
    children = sibling_levels(session, campaign, unit.id)
    out += [replace(v, message=Problem("rule.child_unit", unit=unit.code, message=v.message))
            for v in collective_quota(children, {}, campaign.excellent_quota)]
    return out


def collective_level(text: str | None) -> str | None:
    """Parse a collective's level from the CLI: one of the four, or NOT_CLASSIFIED."""
    if text is None:
        return None
    try:
        level = parse_level(text)
    except ValueError:
        level = None
    if level is None or level == PENDING:
        choices = ", ".join(level for level in ALL if level != PENDING)
        raise BadInput("value.not_collective_level", text=text, choices=choices)
    return level


def stored_sheet(session: Session, row: UnitResult) -> Sheet:
    """Rebuild the sheet the rules see from a stored row and its members."""
    counts = Counts({level: getattr(row, column) for level, column in COUNT_COLUMN.items()},
                    {reason: getattr(row, column) for reason, column in REASON_COLUMN.items()
                     if getattr(row, column)},
                    {kind: getattr(row, column) for kind, column in LOWER_COLUMN.items() if getattr(row, column)})
    members = None
    if row.form == "members":
        stored = session.scalars(select(MemberResult).where(MemberResult.unit_result_id == row.id)
                                 .order_by(MemberResult.position))
        members = tuple(Member(**{f: getattr(m, f) for f in MEMBER_FIELDS}) for m in stored)
    return Sheet(counts, members, row.collective_level, row.founded_on, record_from(row.collective_record, ""))


def _columns(sheet: Sheet) -> dict[str, Any]:
    out: dict[str, Any] = {column: sheet.counts[level] for level, column in COUNT_COLUMN.items()}
    out.update({column: sheet.counts.reasons.get(reason, 0) for reason, column in REASON_COLUMN.items()})
    out.update({column: sheet.counts.lowered.get(kind, 0) for kind, column in LOWER_COLUMN.items()})
    return out


def _member_rows(result_id: int, members: tuple[Member, ...], supplement: set[str]) -> list[dict[str, Any]]:
    return [{"unit_result_id": result_id, "position": i, "supplement": m.name in supplement,
             **{f: getattr(m, f) for f in MEMBER_FIELDS}} for i, m in enumerate(members)]


def violation_problem(v: Violation) -> Problem:
    """A violation as one line under a refusal: its rule's code, then what it says."""
    return Problem("rule.violation", code=v.code, message=v.message)


def _refuse_violations(code: str, violations: list[Violation], force: bool, reason: str | None) -> None:
    if violations and not force:
        raise Refused("results.break_rules", [violation_problem(v) for v in violations], code=code,
                      count=len(violations))
    if force and not (reason and reason.strip()):
        raise BadInput("force.needs_reason_results")


class ResultsService:
    """Stores and checks results on behalf of an actor, at the clock's time."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    def _row(self, session: Session, cycle: Cycle) -> UnitResult | None:
        return session.scalar(select(UnitResult).where(UnitResult.cycle_id == cycle.id))

    def submit(self, code: str, path: Path, *, actor: str, year: int | None = None,
               unit_level: str | None = None, founded_on: date | None = None,
               review_date: date | None = None, force: bool = False, reason: str | None = None) -> Stored:
        """Store a cell's results after its meeting, replacing earlier ones of the same meeting."""
        level = collective_level(unit_level)
        submission = read_results(path)
        with self.db.session(write=True) as session:
            campaign, unit, cycle = load_cycle(session, code, year)
            if not classifies_members(cycle.stages_mask):
                raise Refused("results.has_children", code=code)
            if cycle.state != "cell_met":
                raise Refused("results.not_now", code=code, label=Label(cycle.state), stage=cycle.state)
            when = review_date or review_date_for(campaign, cycle)
            sheet = submission.sheet(when, level)
            if founded_on is not None:
                sheet = replace(sheet, founded_on=founded_on)
            ctx = _unit_context(session, campaign, unit, when)
            violations = validate(sheet, ctx)
            _refuse_violations(code, violations, force, reason)
            session.execute(delete(UnitResult).where(UnitResult.cycle_id == cycle.id))
            row = self._write(session, cycle, campaign, sheet, "members" if sheet.members is not None
                              else "counts", when, violations, actor)
            if sheet.members:
                session.execute(insert(MemberResult), _member_rows(row.id, sheet.members, set()))
            self._audit(session, "results.submit", campaign, unit, cycle, actor, sheet, violations,
                        reason if force else None, file=path.name)
            return Stored(code, sheet.counts, sheet.collective_level, violations, bool(violations),
                          warnings(sheet, ctx))

    def _write(self, session: Session, cycle: Cycle, campaign: Campaign, sheet: Sheet, form: str,
               when: date, violations: list[Violation], actor: str) -> UnitResult:
        now = self.clock()
        row = UnitResult(cycle_id=cycle.id, form=form, collective_level=sheet.collective_level,
                         founded_on=sheet.founded_on, review_date=when, supplement=False,
                         valid=not violations, violations=[v.stored() for v in violations],
                         rule_set=campaign.rule_set, excellent_quota=campaign.excellent_quota,
                         submitted_at=now, submitted_by=actor, updated_at=now,
                         collective_record=record_json(sheet.collective), **_columns(sheet))
        session.add(row)
        session.flush()
        return row

    def _audit(self, session: Session, action: str, campaign: Campaign, unit: Unit, cycle: Cycle,
               actor: str, sheet: Sheet, violations: list[Violation], reason: str | None,
               **details: Any) -> None:
        """Audit counts and rule codes only: member names and ratings stay in the results tables."""
        record(session, self.clock, actor, action, campaign_id=campaign.id, unit_id=unit.id,
               cycle_id=cycle.id, reason=reason,
               details={**details, "counts": {lvl: sheet.counts[lvl] for lvl in ALL},
                        "collective_level": sheet.collective_level,
                        "forced_violations": sorted({v.code for v in violations}) or None})

    def set_level(self, code: str, level_text: str, *, actor: str, year: int | None = None,
                  founded_on: date | None = None, force: bool = False, reason: str | None = None) -> Stored:
        """Give a unit its collective level (the parent's decision), re-checking its members
        and the collectives' quota among its siblings."""
        level = collective_level(level_text)
        with self.db.session(write=True) as session:
            campaign, unit, cycle = load_cycle(session, code, year)
            row, sheet, ctx = self._level_sheet(session, campaign, unit, cycle, level, None, founded_on)
            violations = validate(sheet, ctx) + _collective_quotas(session, campaign, unit, level)
            _refuse_violations(code, violations, force, reason)
            self._store_level(session, campaign, unit, cycle, row, sheet, violations, actor,
                              reason if force else None)
            return Stored(code, sheet.counts, level, violations, bool(violations))

    def set_levels(self, code: str, path: Path, *, actor: str, year: int | None = None,
                   force: bool = False, reason: str | None = None) -> list[Stored]:
        """The parent `code` enters its children's levels from one file (`code, level` and each
        collective's record): every child re-checked, and the collectives' quota checked among
        all of the parent's children at once; all rows stored, or none."""
        records = read_levels(path)
        with self.db.session(write=True) as session:
            campaign, parent, _cycle = load_cycle(session, code, year)
            children = {u.code: u for u in session.scalars(select(Unit).where(
                Unit.parent_id == parent.id, Unit.active.is_(True)))}
            strangers = [Problem("levels.not_a_child", where=Problem("cell.at_line_column", line=r.line, column="code"),
                                 child=r.name, code=code) for r in records if r.name not in children]
            if strangers:
                raise BadInput("results.errors", strangers, file=path.name, count=len(strangers))
            levels = sibling_levels(session, campaign, parent.id)
            planned, violations = [], []
            for record in records:
                unit = children[record.name]
                _campaign, _unit, cycle = load_cycle(session, unit.code, year)
                row, sheet, ctx = self._level_sheet(session, campaign, unit, cycle, record.level,
                                                    record, None)
                violations += [replace(v, member=v.member or unit.code, message=Problem("rule.of_unit", unit=unit.code,
                                                                              message=v.message))
                               for v in validate(sheet, ctx)]
                levels[unit.code] = record.level
                planned.append((unit, cycle, row, sheet))
            violations += collective_quota(levels, {r.name: r for r in records}, campaign.excellent_quota)
            _refuse_violations(code, violations, force, reason)
            out = []
            for unit, cycle, row, sheet in planned:
                mine = [v for v in violations if v.member == unit.code or v.member is None]
                self._store_level(session, campaign, unit, cycle, row, sheet, mine, actor,
                                  reason if force else None)
                out.append(Stored(unit.code, sheet.counts, sheet.collective_level, mine, bool(mine)))
            return out

    def _level_sheet(self, session: Session, campaign: Campaign, unit: Unit, cycle: Cycle, level: str | None,
                     record: Member | None, founded_on: date | None) -> tuple[UnitResult | None, Sheet, Context]:
        """The sheet a unit's new collective level is checked on: its stored results (a cell's
        members) with the new level and record, or the level alone for a parent."""
        if cycle.state == "aggregated":
            raise Refused("results.aggregated", code=unit.code)
        row = self._row(session, cycle)
        if row is None and classifies_members(cycle.stages_mask):
            raise Refused("results.no_members_yet", code=unit.code)
        if row is None:
            sheet = Sheet(Counts({}), None, level, founded_on, record)
            return None, sheet, context_for(campaign, date(campaign.year, 12, 31))
        sheet = replace(stored_sheet(session, row), collective_level=level,
                        founded_on=founded_on or row.founded_on)
        if record is not None:
            sheet = replace(sheet, collective=record)
        return row, sheet, _unit_context(session, campaign, unit, row.review_date)

    def _store_level(self, session: Session, campaign: Campaign, unit: Unit, cycle: Cycle,
                     row: UnitResult | None, sheet: Sheet, violations: list[Violation], actor: str,
                     reason: str | None) -> None:
        if row is None:
            self._write(session, cycle, campaign, sheet, "collective", date(campaign.year, 12, 31),
                        violations, actor)
        else:
            row.collective_level, row.founded_on = sheet.collective_level, sheet.founded_on
            row.collective_record = record_json(sheet.collective)
            row.valid, row.violations = not violations, [v.stored() for v in violations]
            row.updated_at = self.clock()
        self._audit(session, "results.level", campaign, unit, cycle, actor, sheet, violations, reason)

    def amend(self, code: str, path: Path, *, actor: str, year: int | None = None,
              force: bool = False, reason: str | None = None) -> Stored:
        """Rate the members who were absent (PENDING), at the next meeting: a supplement."""
        submission = read_results(path)
        if submission.members is None:
            raise BadInput("results.supplement_needs_list", file=path.name)
        with self.db.session(write=True) as session:
            campaign, unit, cycle = load_cycle(session, code, year)
            row = self._row(session, cycle)
            if row is None or row.form != "members":
                raise Refused("results.nothing_to_supplement", code=code)
            sheet = stored_sheet(session, row)
            amended = _amended(path, sheet.members or (), submission)
            members = tuple(amended.get(m.name, m) for m in sheet.members or ())
            sheet = replace(sheet, members=members, counts=tally(members, row.review_date))
            ctx = _unit_context(session, campaign, unit, row.review_date)
            violations = validate(sheet, ctx)
            _refuse_violations(code, violations, force, reason)
            session.execute(delete(MemberResult).where(MemberResult.unit_result_id == row.id))
            session.execute(insert(MemberResult), _member_rows(row.id, members, set(amended)
                                                               | self._supplemented(session, row)))
            session.execute(update(UnitResult).where(UnitResult.id == row.id).values(
                supplement=True, valid=not violations, violations=[v.stored() for v in violations],
                updated_at=self.clock(), **_columns(sheet)))
            self._audit(session, "results.amend", campaign, unit, cycle, actor, sheet, violations,
                        reason if force else None, file=path.name, amended=len(amended))
            return Stored(code, sheet.counts, sheet.collective_level, violations, bool(violations),
                          warnings(sheet, ctx))

    def _supplemented(self, session: Session, row: UnitResult) -> set[str]:
        return set(session.scalars(select(MemberResult.name).where(
            MemberResult.unit_result_id == row.id, MemberResult.supplement.is_(True))))

    def check(self, code: str, path: Path | None = None, *, year: int | None = None,
              unit_level: str | None = None, review_date: date | None = None) -> list[Violation]:
        """The violations of a file (nothing stored) or of the stored results."""
        return self.check_all(code, path, year=year, unit_level=unit_level, review_date=review_date)[0]

    def check_all(self, code: str, path: Path | None = None, *, year: int | None = None,
                  unit_level: str | None = None,
                  review_date: date | None = None) -> tuple[list[Violation], list[Violation]]:
        """`check`'s violations and the warnings (implausible, not refused) beside them."""
        level = collective_level(unit_level)
        submission = read_results(path) if path is not None else None
        with self.db.session() as session:
            campaign, unit, cycle = load_cycle(session, code, year)
            if submission is not None:
                when = review_date or review_date_for(campaign, cycle)
                sheet = submission.sheet(when, level)
            else:
                row = self._row(session, cycle)
                if row is None:
                    raise NotFound("results.none", code=code, year=campaign.year)
                when = review_date or row.review_date
                sheet = stored_sheet(session, row)
                if level is not None:
                    sheet = replace(sheet, collective_level=level)
            ctx = _unit_context(session, campaign, unit, when)
            return validate(sheet, ctx), warnings(sheet, ctx)

    def show(self, code: str, *, year: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The stored results of one unit: a summary and its members' rows (confidential)."""
        with self.db.session() as session:
            campaign, unit, cycle = load_cycle(session, code, year)
            row = self._row(session, cycle)
            if row is None:
                raise NotFound("results.none", code=code, year=campaign.year)
            sheet = stored_sheet(session, row)
            summary = {"unit": unit.code, "name": unit.name, "year": campaign.year, "form": row.form,
                       "collective_level": row.collective_level, "review_date": row.review_date,
                       **{level: sheet.counts[level] for level in ALL},
                       "supplement": row.supplement, "valid": row.valid, "rule_set": row.rule_set,
                       "submitted_at": row.submitted_at, "submitted_by": row.submitted_by,
                       "violations": [Violation.from_stored(v) for v in row.violations]}
            members = [{"name": m.name, "role": m.role, "is_head": m.is_head, "level": m.level,
                        "votes": None if m.votes_for is None else f"{m.votes_for}/{m.full_members_voting}",
                        "score": m.score} for m in sheet.members or ()]
            return summary, members


def _amended(path: Path, stored: tuple[Member, ...], submission: Submission) -> dict[str, Member]:
    """Merge each amended row into the stored member it names; every problem is listed."""
    by_name = {m.name: m for m in stored}
    problems, out = [], {}
    for new in submission.members or ():
        old = by_name.get(new.name)
        at_name = Problem("cell.at_line_column", line=new.line, column="name")
        if old is None:
            problems.append(Problem("supplement.not_stored", where=at_name, name=new.name))
        elif old.level != PENDING:
            problems.append(Problem("supplement.already_classified", where=at_name, name=new.name, level=old.level))
        elif new.level == PENDING:
            problems.append(Problem("supplement.needs_level", where=Problem("cell.at_line_column", line=new.line,
                                                                            column="level")))
        else:
            given = {f.name: getattr(new, f.name) for f in fields(Member)
                     if f.name not in ("name", "line") and getattr(new, f.name) != f.default}
            out[new.name] = replace(old, **given, absent=False)
    if problems:
        raise BadInput("results.errors", problems, file=path.name, count=len(problems))
    return out

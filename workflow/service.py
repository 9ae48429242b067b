"""Use cases that move cycles: advance, reopen, extend a deadline. One transaction each.

A change is refused cleanly, never half-made: the cycle row carries an optimistic
`version`, so of two processes advancing the same cycle at once exactly one wins and the
other is told to look again. Every change writes its audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from config.zone import DEFAULT_TIMEZONE
from workflow.audit import record, said
from workflow.clock import Clock
from workflow.db import Database
from workflow.errors import BadInput, Conflict, Problem, Refused
from workflow.lookup import load_cycle
from workflow.machine import CycleModel, TransitionRefused, apply
from workflow.models import AuditEntry, Campaign, Cycle, Unit
from workflow.notices import local_iso
from workflow.stages import EVENT_FOR, RANK, STAGE_FOR_EVENT

#: A results gate: why a unit may not reach `forms_submitted` yet (empty list: it may).
SubmitGate = Callable[[Session, Cycle, Unit], list[Problem]]

SUBMITTED = RANK["forms_submitted"]


@dataclass
class Outcome:
    """What a use case did, for the CLI to report."""

    unit: str
    from_state: str
    to_state: str
    overridden: list[Problem] = field(default_factory=list)
    also_moved: list[str] = field(default_factory=list)
    flagged_stale: list[str] = field(default_factory=list)


class _DbFacts:
    """The guards' questions, answered from the database inside the caller's transaction."""

    def __init__(self, session: Session, cycle: Cycle, unit: Unit, gates: Sequence[SubmitGate]):
        self.session, self.cycle, self.unit, self.gates = session, cycle, unit, gates

    def pending_children(self) -> list[str]:
        rows = self.session.execute(
            select(Unit.code)
            .join(Cycle, and_(Cycle.unit_id == Unit.id, Cycle.campaign_id == self.cycle.campaign_id))
            .where(Unit.parent_id == self.unit.id, Unit.active.is_(True), Cycle.stage_rank < SUBMITTED)
            .order_by(Unit.code)
        )
        return list(rows.scalars())

    def parent_received(self) -> bool:
        if self.unit.parent_id is None:
            return True
        rank = self.session.scalar(select(Cycle.stage_rank).where(
            Cycle.campaign_id == self.cycle.campaign_id, Cycle.unit_id == self.unit.parent_id))
        return rank is None or rank >= SUBMITTED

    def submit_problems(self) -> list[Problem]:
        return [p for gate in self.gates for p in gate(self.session, self.cycle, self.unit)]


class CycleService:
    """Moves cycles through the workflow on behalf of an actor, at the clock's time."""

    def __init__(self, db: Database, clock: Clock, gates: Sequence[SubmitGate] = ()) -> None:
        self.db, self.clock, self.gates = db, clock, tuple(gates)

    def advance(self, code: str, *, year: int | None = None, to: str | None = None,
                event: str | None = None, at: datetime | None = None, actor: str,
                note: str | None = None, force: bool = False, reason: str | None = None,
                via: dict[str, str] | None = None) -> Outcome:
        """Move one cycle to its next stage (or `to` a stage), checking every guard.

        `via` says how the report came, for the audit (a secretary's link: address, browser).
        """
        event = _event_for(to, event)
        if force and not (reason and reason.strip()):
            raise BadInput("force.needs_reason")
        now = self.clock()
        if at is not None and at > now:
            raise BadInput("at.in_future", code=code, at=_local(at, DEFAULT_TIMEZONE))
        try:
            with self.db.session(write=True) as session:
                campaign, unit, cycle = load_cycle(session, code, year)
                if at is not None:
                    check_reached_at(campaign, cycle, code, at)
                return self.advance_in(session, campaign, unit, cycle, event, at=at or now,
                                       actor=actor, note=note, force=force, reason=reason,
                                       details={"via": via} if via else None)
        except StaleDataError as exc:
            raise Conflict("unit.changed_meanwhile", code=code) from exc

    def advance_in(self, session: Session, campaign: Campaign, unit: Unit, cycle: Cycle,
                   event: str, *, at: datetime, actor: str, note: str | None = None,
                   force: bool = False, reason: str | None = None,
                   details: dict[str, object] | None = None) -> Outcome:
        """Fire `event` on a loaded cycle inside the caller's transaction (every guard, the
        optimistic version, the audit entry, the roll-up): what `advance` and a progress
        import both do for each step. `details` adds to the audit entry's details."""
        model = CycleModel(cycle.state, cycle.stages_mask,
                           _DbFacts(session, cycle, unit, self.gates), force=force)
        before = cycle.state
        try:
            after = apply(model, event)
        except TransitionRefused as exc:
            raise Refused("cycle.refused", code=unit.code, reasons=exc.reasons) from exc
        self._set_state(cycle, after, at)
        session.flush()
        record(session, self.clock, actor, "cycle.advance", campaign_id=campaign.id,
               unit_id=unit.id, cycle_id=cycle.id, from_state=before, to_state=after,
               reason=reason if force else note,
               details={"event": event, "forced": [p.data["guard"] for p in model.overridden] or None,
                        "note": note if force else None,
                        "reached_at": local_iso(at, ZoneInfo(campaign.timezone)),
                        **(details or {})},
               reached_at=at)
        outcome = Outcome(unit.code, before, after, overridden=model.overridden)
        if after == "forms_submitted":
            outcome.also_moved = self._roll_up(session, campaign, unit, cycle, actor)
        return outcome

    def _set_state(self, cycle: Cycle, state: str, at: datetime) -> None:
        cycle.state = state
        cycle.stage_rank = RANK[state]
        cycle.state_changed_at = at

    def _roll_up(self, session: Session, campaign: Campaign, unit: Unit, cycle: Cycle,
                 actor: str) -> list[str]:
        """On submission: the children move to `aggregated`; a late re-submission under an
        already-submitted parent goes straight into the parent's (stale) aggregate."""
        moved = self._aggregate_children(session, campaign, unit, actor)
        if unit.parent_id is not None:
            parent_rank = session.scalar(select(Cycle.stage_rank).where(
                Cycle.campaign_id == campaign.id, Cycle.unit_id == unit.parent_id))
            if parent_rank is not None and parent_rank >= SUBMITTED:
                self._set_state(cycle, "aggregated", self.clock())
                session.flush()
                record(session, self.clock, actor, "cycle.aggregate", campaign_id=campaign.id,
                       unit_id=unit.id, cycle_id=cycle.id, from_state="forms_submitted",
                       to_state="aggregated", reason=Problem("audit.joined_parent_aggregate"))
                moved.append(unit.code)
        return moved

    def _aggregate_children(self, session: Session, campaign: Campaign, unit: Unit,
                            actor: str) -> list[str]:
        children = session.execute(
            select(Cycle.id, Unit.id, Unit.code)
            .join(Unit, Unit.id == Cycle.unit_id)
            .where(Cycle.campaign_id == campaign.id, Unit.parent_id == unit.id,
                   Cycle.state == "forms_submitted")
        ).all()
        if not children:
            return []
        now = self.clock()
        ids = [c[0] for c in children]
        session.execute(
            update(Cycle).where(Cycle.id.in_(ids), Cycle.state == "forms_submitted")
            .values(state="aggregated", stage_rank=RANK["aggregated"], state_changed_at=now,
                    version=Cycle.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.execute(insert(AuditEntry), [
            {"at": now, "actor": actor, "action": "cycle.aggregate", "campaign_id": campaign.id,
             "unit_id": unit_id, "cycle_id": cycle_id, "from_state": "forms_submitted",
             "to_state": "aggregated", "reason": None,
             "details": said(Problem("audit.parent_aggregated", code=unit.code))}
            for cycle_id, unit_id, _ in children
        ])
        return [c[2] for c in children]

    def reopen(self, code: str, *, year: int | None = None, reason: str, actor: str) -> Outcome:
        """Send a submitted cycle back to its last meeting; flag submitted ancestors stale."""
        if not reason.strip():
            raise BadInput("reopen.needs_reason")
        try:
            with self.db.session(write=True) as session:
                campaign, unit, cycle = load_cycle(session, code, year)
                model = CycleModel(cycle.state, cycle.stages_mask,
                                   _DbFacts(session, cycle, unit, self.gates))
                before = cycle.state
                try:
                    after = apply(model, "reopen")
                except TransitionRefused as exc:
                    raise Refused("reopen.refused", code=code, reason=exc.reasons) from exc
                self._set_state(cycle, after, self.clock())
                cycle.stale = False
                session.flush()
                stale = self._flag_ancestors(session, campaign, unit)
                record(session, self.clock, actor, "cycle.reopen", campaign_id=campaign.id,
                       unit_id=unit.id, cycle_id=cycle.id, from_state=before, to_state=after,
                       reason=reason, details={"stale_ancestors": stale})
                return Outcome(code, before, after, flagged_stale=stale)
        except StaleDataError as exc:
            raise Conflict("unit.changed_meanwhile", code=code) from exc

    def _flag_ancestors(self, session: Session, campaign: Campaign, unit: Unit) -> list[str]:
        ancestor_ids = unit.ancestor_ids
        if not ancestor_ids:
            return []
        rows = session.execute(
            select(Cycle.id, Unit.code).join(Unit, Unit.id == Cycle.unit_id)
            .where(Cycle.campaign_id == campaign.id, Cycle.unit_id.in_(ancestor_ids),
                   Cycle.stage_rank >= SUBMITTED)
        ).all()
        if rows:
            session.execute(
                update(Cycle).where(Cycle.id.in_([r[0] for r in rows]))
                .values(stale=True, version=Cycle.version + 1)
                .execution_options(synchronize_session=False))
        return [r[1] for r in rows]


def check_reached_at(campaign: Campaign, cycle: Cycle, code: str, at: datetime) -> None:
    """Refuse a reported time that cannot be: before the campaign year began (1 July), or
    before the cycle's current stage was recorded (a stage is reached after the one before).

    Every way of reporting a stage (the CLI's `advance --at`, a progress file, a secretary's
    link) goes through `advance`, so each gets these bounds.
    """
    year_start = datetime(campaign.year, 7, 1, tzinfo=ZoneInfo(campaign.timezone))
    if at < year_start:
        raise BadInput("at.before_year", code=code, at=_local(at, campaign.timezone), year=campaign.year,
                       start=_local(year_start, campaign.timezone))
    if cycle.state != "plan_issued" and at < cycle.state_changed_at:
        raise BadInput("at.before_previous", code=code, at=_local(at, campaign.timezone), stage=cycle.state,
                       recorded=_local(cycle.state_changed_at, campaign.timezone))


def _local(at: datetime, zone: str) -> str:
    return f"{at.astimezone(ZoneInfo(zone)):%d/%m/%Y %H:%M}"


def _event_for(to: str | None, event: str | None) -> str:
    if (to is None) == (event is None):
        raise BadInput("advance.to_or_event")
    if to is not None:
        if to not in EVENT_FOR:
            raise BadInput("stage.unknown", stage=to, stages=", ".join(EVENT_FOR))
        return EVENT_FOR[to]
    if event not in STAGE_FOR_EVENT:
        raise BadInput("event.unknown_reopen", event=event, events=", ".join(STAGE_FOR_EVENT))
    return event

"""The review cycle as a `transitions` state machine, defined as data and built once.

`TRANSITIONS` is the whole workflow: one forward event per stage and `reopen`. Guards are
small named functions; each either passes or says why not, as a `workflow.errors.Problem` the
edges word. An officer may
override the guards marked `overridable` with `--force --reason`; the service audits which
were overridden. The machine is built once per process and applied to one cycle at a time
(`add_model` … `remove_model`): registering every cycle would cost O(n²).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol, cast

from transitions import EventData, Machine, MachineError

from config.i18n import pgettext
from workflow.errors import Label, Problem
from workflow.stages import EVENT_FOR, RANK, STAGES, flow, next_stage, reopen_target, stages_of


class Facts(Protocol):
    """What the guards need to know beyond the cycle itself (the service reads the database)."""

    def pending_children(self) -> list[str]:
        """Codes of active children whose cycle has not reached `forms_submitted`."""

    def parent_received(self) -> bool:
        """Whether the unit is a root or its parent has reached `forms_submitted`."""

    def submit_problems(self) -> list[Problem]:
        """Why the unit's results do not allow `forms_submitted` (the results gate)."""


@dataclass
class CycleModel:
    """The object the machine moves: a cycle's state plus what its guards consult."""

    state: str
    stages_mask: int
    facts: Facts
    force: bool = False
    refusals: list[Problem] = field(default_factory=list)
    overridden: list[Problem] = field(default_factory=list)

    @property
    def flow(self) -> tuple[str, ...]:
        return stages_of(self.stages_mask)


Guard = Callable[[EventData], bool]
#: pending children named in a refusal; the rest are counted
SHOWN = 10


def _cycle(event: EventData) -> CycleModel:
    """The cycle a guard is asked about (`transitions` types its models as plain objects)."""
    return cast(CycleModel, event.model)


def _guard(name: str, overridable: bool) -> Callable[[Callable[[CycleModel, str], Problem | None]], Guard]:
    """Wrap a check that returns a refusal (or None) as a transitions condition."""

    def wrap(check: Callable[[CycleModel, str], Problem | None]) -> Guard:
        def condition(event: EventData) -> bool:
            model = _cycle(event)
            assert event.transition is not None and event.transition.dest is not None, "guards run on moves"
            problem = check(model, event.transition.dest)
            if problem is None:
                return True
            if overridable and model.force:
                model.overridden.append(Problem("guard.overridden", guard=name, reason=problem))
                return True
            model.refusals.append(problem)
            return False

        condition.__name__ = name
        condition.overridable = overridable  # type: ignore[attr-defined]
        return condition

    return wrap


@_guard("stage_applies", overridable=False)
def stage_applies(model: CycleModel, dest: str) -> Problem | None:
    if dest in model.flow:
        return None
    return Problem("guard.stage_not_applicable", label=Label(dest), stage=dest)


@_guard("in_order", overridable=True)
def in_order(model: CycleModel, dest: str) -> Problem | None:
    expected = next_stage(model.state, model.stages_mask)
    if expected == dest:
        return None
    if expected is None:
        return Problem("guard.last_stage", stage=model.state)
    return Problem("guard.out_of_order", label=Label(model.state), stage=model.state,
                   next_label=Label(expected), next=expected, dest=dest)


@_guard("children_submitted", overridable=True)
def children_submitted(model: CycleModel, dest: str) -> Problem | None:
    pending = model.facts.pending_children()
    if not pending:
        return None
    more = Problem("units.more", count=len(pending) - SHOWN) if len(pending) > SHOWN else ""
    return Problem("guard.children_pending", count=len(pending), units=", ".join(pending[:SHOWN]), more=more)


@_guard("results_valid", overridable=True)
def results_valid(model: CycleModel, dest: str) -> Problem | None:
    problems = model.facts.submit_problems()
    return Problem("guard.results_invalid", reasons=problems) if problems else None


@_guard("parent_received", overridable=True)
def parent_received(model: CycleModel, dest: str) -> Problem | None:
    if model.facts.parent_received():
        return None
    return Problem("guard.parent_pending")


def _reopen_to(stage: str) -> Guard:
    def condition(event: EventData) -> bool:
        return reopen_target(_cycle(event).stages_mask) == stage

    condition.__name__ = f"reopens_to_{stage}"
    return condition


#: The workflow, as data. `diagram` prints it; a test walks every state through it.
TRANSITIONS: list[dict] = [
    *(
        {
            "trigger": EVENT_FOR[stage],
            "source": [s for s in STAGES if RANK[s] < RANK[stage]],
            "dest": stage,
            "conditions": [stage_applies, in_order]
            + ([children_submitted, results_valid] if stage == "forms_submitted" else [])
            + ([parent_received] if stage == "aggregated" else []),
        }
        for stage in STAGES[1:]
    ),
    *(
        {"trigger": "reopen", "source": ["forms_submitted", "aggregated"], "dest": stage,
         "conditions": [_reopen_to(stage)]}
        for stage in ("cell_met", "committee_met", "reports_prepared")
    ),
]

_lock = threading.Lock()


@cache
def machine() -> Machine:
    """Build the one machine of this process (no models registered between events)."""
    return Machine(model=None, states=list(STAGES), transitions=TRANSITIONS, initial=STAGES[0],
                   auto_transitions=False, send_event=True)


class TransitionRefused(Exception):
    """The event does not apply to the cycle's state, or a guard said no."""

    def __init__(self, reasons: list[Problem]) -> None:
        super().__init__(reasons)
        self.reasons = reasons


def apply(model: CycleModel, event: str) -> str:
    """Fire `event` on `model`; return the new state or raise `TransitionRefused`."""
    m = machine()
    if event not in m.events:
        raise TransitionRefused([Problem("event.unknown", event=event, events=", ".join(m.events))])
    model.refusals, model.overridden = [], []
    with _lock:
        m.add_model(model, initial=model.state)
        try:
            moved = m.events[event].trigger(model)
        except MachineError:
            moved = False
            if not model.refusals:
                model.refusals.append(Problem("event.not_now", event=event, label=Label(model.state),
                                              stage=model.state))
        finally:
            m.remove_model(model)
    if not moved:
        raise TransitionRefused(model.refusals or [Problem("event.not_applicable", event=event, stage=model.state)])
    return model.state


def _usual_steps() -> set[tuple[str, str]]:
    """Every (stage, next stage) pair of the four flows (with or without committee, children).

    The diagram draws these rather than every earlier-to-later arrow a forced move allows.
    """
    steps: set[tuple[str, str]] = set()
    for has_committee in (True, False):
        for has_children in (True, False):
            path = flow(has_committee, has_children)
            steps.update(zip(path, path[1:], strict=False))
    return steps


def mermaid() -> str:
    """Render the workflow as a Mermaid state diagram, guards on the arrows."""
    steps = _usual_steps()
    lines = ["stateDiagram-v2", f"    [*] --> {STAGES[0]}"]
    for t in TRANSITIONS:
        guards = [c.__name__ for c in t["conditions"] if c is not stage_applies]
        label = t["trigger"] + (f" [{', '.join(guards)}]" if guards else "")
        for source in t["source"]:
            if t["trigger"] == "reopen" or (source, t["dest"]) in steps:
                lines.append(f"    {source} --> {t['dest']}: {label}")
    lines.append(f"    {STAGES[-1]} --> [*]")
    lines.extend(f"    {stage}: {stage} — {pgettext('value', stage)}" for stage in STAGES)
    return "\n".join(lines)

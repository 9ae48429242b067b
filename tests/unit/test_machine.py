"""The workflow table: every state reachable, guards refuse with reasons, force is recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from kiemdiem.wording import say
from workflow.errors import Problem
from workflow.machine import TRANSITIONS, CycleModel, TransitionRefused, apply, machine, mermaid
from workflow.stages import STAGES, flow, mask, reopen_target


@dataclass
class Facts:
    pending: list[str] = field(default_factory=list)
    received: bool = True
    problems: list[Problem] = field(default_factory=list)

    def pending_children(self):
        return self.pending

    def parent_received(self):
        return self.received

    def submit_problems(self):
        return self.problems


@pytest.mark.parametrize("has_committee", [True, False])
@pytest.mark.parametrize("has_children", [True, False])
def test_every_flow_walks_to_the_end_and_reopens(has_committee, has_children):
    stages = flow(has_committee, has_children)
    model = CycleModel("plan_issued", mask(stages), Facts())
    reached = ["plan_issued"]
    for stage in stages[1:]:
        event = next(t["trigger"] for t in TRANSITIONS if t["dest"] == stage and t["trigger"] != "reopen")
        reached.append(apply(model, event))
    assert tuple(reached) == stages
    assert apply(model, "reopen") == reopen_target(mask(stages))


def refusal(model: CycleModel, event: str) -> str:
    """What the edges say when `event` is refused (the machine gives codes and data)."""
    with pytest.raises(TransitionRefused) as refused:
        apply(model, event)
    return "; ".join(say(reason) for reason in refused.value.reasons)


def test_every_state_is_reachable_and_every_condition_is_callable():
    dests = {t["dest"] for t in TRANSITIONS}
    assert set(STAGES) - dests == {"plan_issued"}
    assert all(callable(c) for t in TRANSITIONS for c in t["conditions"])
    assert set(machine().states) == set(STAGES)


def test_stages_cannot_be_skipped_without_force():
    model = CycleModel("plan_issued", mask(flow(True, False)), Facts())
    assert re.search("giai đoạn tiếp theo là 'Chuẩn bị báo cáo kiểm điểm'", refusal(model, "hold_cell_meeting"))
    model.force = True
    assert apply(model, "hold_cell_meeting") == "cell_met"
    assert model.overridden and model.overridden[0].data["guard"] == "in_order"


def test_a_stage_outside_the_units_flow_is_refused_even_with_force():
    model = CycleModel("reports_prepared", mask(flow(False, False)), Facts(), force=True)
    assert re.search("không áp dụng", refusal(model, "hold_committee_meeting"))


def test_a_parent_waits_for_its_children_and_names_them():
    model = CycleModel("committee_met", mask(flow(True, True)), Facts(pending=["C1", "C2"]))
    assert re.search("còn 2 đơn vị trực thuộc chưa gửi .*C1, C2", refusal(model, "submit_forms"))
    assert model.state == "committee_met"


def test_the_results_gate_blocks_submission_with_its_reasons():
    gate = [Problem("results.invalid", count=1, code="C1")]
    model = CycleModel("cell_met", mask(flow(False, False)), Facts(problems=gate))
    assert re.search("vi phạm 1 quy định", refusal(model, "submit_forms"))


def test_a_child_is_aggregated_only_once_its_parent_submitted():
    model = CycleModel("forms_submitted", mask(flow(False, False)), Facts(received=False))
    assert re.search("cấp trên chưa gửi", refusal(model, "aggregate"))


def test_reopen_only_from_submitted_states():
    model = CycleModel("cell_met", mask(flow(False, False)), Facts())
    with pytest.raises(TransitionRefused):
        apply(model, "reopen")


def test_the_diagram_shows_every_stage_and_the_skips():
    text = mermaid()
    assert text.startswith("stateDiagram-v2")
    assert "reports_prepared --> cell_met: hold_cell_meeting" in text  # a cell with no committee
    assert "committee_met --> forms_submitted: submit_forms" in text  # a parent: no cell meeting
    for stage in STAGES:
        assert f"    {stage}: {stage} — " in text

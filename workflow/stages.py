"""The stages of a review cycle, as data: order, rank, bit, labels, and which units have which.

Every unit goes through `plan_issued → reports_prepared → committee_met → cell_met →
forms_submitted → aggregated`, skipping the stages its kind does not have:
`committee_met` only where the unit has a committee, `cell_met` only for a unit without
children (a cell, or a base that is itself a cell). Sweeps compare `stage_rank` and test
`stages_mask & bit`, so these numbers are part of the stored data: never reorder them.
"""

from __future__ import annotations

from config.stages import STAGE_ORDER

STAGES: tuple[str, ...] = STAGE_ORDER
RANK: dict[str, int] = {stage: i for i, stage in enumerate(STAGES)}
BIT: dict[str, int] = {stage: 1 << i for i, stage in enumerate(STAGES)}

#: Vietnamese names of the stages, as secretaries and offices say them.
LABEL: dict[str, str] = {
    "plan_issued": "Đã ban hành kế hoạch",
    "reports_prepared": "Chuẩn bị báo cáo kiểm điểm",
    "committee_met": "Họp cấp ủy, chi ủy",
    "cell_met": "Họp chi bộ kiểm điểm, xếp loại",
    "forms_submitted": "Gửi báo cáo, biểu mẫu lên cấp trên",
    "aggregated": "Cấp trên đã tổng hợp",
}

#: The event that moves a cycle into each stage (`advance --event`).
EVENT_FOR: dict[str, str] = {
    "reports_prepared": "prepare_reports",
    "committee_met": "hold_committee_meeting",
    "cell_met": "hold_cell_meeting",
    "forms_submitted": "submit_forms",
    "aggregated": "aggregate",
}
STAGE_FOR_EVENT: dict[str, str] = {event: stage for stage, event in EVENT_FOR.items()}
MEETING_STAGES = ("cell_met", "committee_met")


def flow(has_committee: bool, has_children: bool) -> tuple[str, ...]:
    """Return the stages a unit of this kind goes through, in order."""
    skip = set()
    if not has_committee:
        skip.add("committee_met")
    if has_children:
        skip.add("cell_met")
    return tuple(s for s in STAGES if s not in skip)


def mask(stages: tuple[str, ...]) -> int:
    """Return the bit mask of a flow (stored on the cycle)."""
    out = 0
    for stage in stages:
        out |= BIT[stage]
    return out


def classifies_members(stages_mask: int) -> bool:
    """Whether a cycle's unit classifies its members itself (its flow has the cell meeting)."""
    return bool(stages_mask & BIT["cell_met"])


def stages_of(stages_mask: int) -> tuple[str, ...]:
    """Return the flow a stored mask stands for."""
    return tuple(s for s in STAGES if stages_mask & BIT[s])


def owes(state: str, stages_mask: int, stage: str) -> bool:
    """Whether a cycle in `state` still owes `stage`: the stage is in its flow, not yet reached.

    The one definition, with its SQL twin `workflow.queries.owes` (a test holds them equal);
    a deadline is owed when its stage is, whatever the instant.
    """
    return bool(stages_mask & BIT[stage]) and RANK[state] < RANK[stage]


def next_stage(state: str, stages_mask: int) -> str | None:
    """Return the stage after `state` in the cycle's flow, or None at the end."""
    later = [s for s in stages_of(stages_mask) if RANK[s] > RANK[state]]
    return later[0] if later else None


def reopen_target(stages_mask: int) -> str:
    """Return the stage a reopened cycle goes back to: its last meeting (classification redone)."""
    flow_ = stages_of(stages_mask)
    for stage in MEETING_STAGES:
        if stage in flow_:
            return stage
    return "reports_prepared"

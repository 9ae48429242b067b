"""The stages a review cycle goes through, in order: the names plans set deadlines for.

A module of its own, free of pydantic and YAML, because every command that moves a cycle
needs the names and none of the plan models (`workflow.stages` builds the machine from them).
"""

from __future__ import annotations

STAGE_ORDER: tuple[str, ...] = (
    "plan_issued",
    "reports_prepared",
    "committee_met",
    "cell_met",
    "forms_submitted",
    "aggregated",
)

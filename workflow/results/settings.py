"""Settings of the results rules where the texts found leave a choice: a default per rule
set, with its source, overridable in the year's plan (`quota_scope`, `excellent_vote`).

The campaign keeps its plan, so the settings in force are read from `campaign.plan`.
"""

from __future__ import annotations

from typing import Any

CELL, BASE = "cell", "base"
MORE_THAN, AT_LEAST = "more_than_two_thirds", "at_least_two_thirds"
CHOICES: dict[str, tuple[str, ...]] = {"quota_scope": (CELL, BASE), "excellent_vote": (MORE_THAN, AT_LEAST)}

DEFAULTS: dict[str, dict[str, str]] = {
    "qd124": {
        # HD 21-HD/BTCTW 2019 (as quoted by thuvienphapluat.vn): the 20% is counted per base
        # organisation (đảng bộ, chi bộ cơ sở), not per cell.
        "quota_scope": BASE,
        # HD 07-HD/BTCTW 2011 (Bảo Lộc city committee's Q&A): "2/3 trở lên"; no later central
        # text was found (HD 25-HD/BTCTW 2023 not found). Seed 001's local plan says "trên 2/3":
        # a plan may choose `more_than_two_thirds`.
        "excellent_vote": AT_LEAST,
    },
    "qd366": {
        # QĐ 366 Điều 11 (tintuc.thuvienphapluat.com art. 100238) keeps the 20% ceiling; its
        # scope is not in the texts found (HD 43-HD/BTCTW not found): HD 21/2019's base scope.
        "quota_scope": BASE,
        # No text of 366 or HD 43 on the vote was found: the only central text, HD 07/2011.
        "excellent_vote": AT_LEAST,
    },
}


def settings_for(rule_set: str, plan: dict[str, Any] | None) -> dict[str, str]:
    """The settings in force: the rule set's defaults, overridden by what the plan states."""
    chosen = dict(DEFAULTS[rule_set])
    for key in CHOICES:
        value = (plan or {}).get(key)
        if value is not None:
            chosen[key] = value
    return chosen

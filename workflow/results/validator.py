"""Run the rules of a campaign's rule set over one unit's results.

`qd124` (Quy định 124, 2023–2024): criteria and the cell's secret vote, no score.
`qd366` (Quy định 366, from 2025): the same rules plus the score: each part within its cap,
the level following the band and the gates. Votes are checked wherever they are given.
"""

from __future__ import annotations

from workflow.results import rules
from workflow.results.rules import Context, Rule, Violation
from workflow.results.sheet import Sheet

COMMON: tuple[Rule, ...] = (
    rules.not_reviewed,
    rules.new_member_not_classified,
    rules.not_classified_without_reason,
    rules.absent_pending,
    rules.discipline_kht,
    rules.sick_leave_cap,
    rules.vote_threshold,
    rules.head_above_collective,
    rules.new_organisation_not_classified,
    rules.cell_level,
    rules.quota_excellent,
)

RULE_SETS: dict[str, tuple[Rule, ...]] = {
    "qd124": COMMON,
    "qd366": (*COMMON, rules.score_range, rules.score_missing, rules.score_band, rules.score_gate),
}


def rule_codes(rule_set: str) -> list[str]:
    """The codes a rule set checks, in the order they run (for `docs` and tests)."""
    return [rule.code for rule in RULE_SETS[rule_set]]  # type: ignore[attr-defined]


def validate(sheet: Sheet, ctx: Context) -> list[Violation]:
    """Every violation of `sheet` under the context's rule set; empty means valid."""
    try:
        chosen = RULE_SETS[ctx.rule_set]
    except KeyError:
        raise ValueError(f"unknown rule set '{ctx.rule_set}' (known: {', '.join(RULE_SETS)})") from None
    return [violation for rule in chosen for violation in rule(sheet, ctx)]

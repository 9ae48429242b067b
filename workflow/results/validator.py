"""Run the rules of a campaign's rule set over one unit's results.

`qd124` (Quy định 124, 2023–2024): criteria and the cell's secret vote, no score.
`qd366` (Quy định 366, from 2025): the same rules plus the score: each part within its cap,
the level following the band and the gates. Votes are checked wherever they are given.
"""

from __future__ import annotations

from config.i18n import _
from workflow.results import rules
from workflow.results.rules import Context, Rule, Violation
from workflow.results.sheet import Sheet

COMMON: tuple[Rule, ...] = (
    rules.two_heads,
    rules.not_reviewed,
    rules.new_member_not_classified,
    rules.not_classified_without_reason,
    rules.absent_pending,
    rules.discipline_kht,
    rules.kht_ground,
    rules.sick_leave_cap,
    rules.vote_threshold,
    rules.vote_base,
    rules.head_above_collective,
    rules.new_organisation_not_classified,
    rules.cell_level,
    rules.collective_discipline,
    rules.collective_ceiling,
    rules.quota_excellent,
    rules.lower_quota,
)
#: Last in both sets: a rating below the ceiling the rules before it computed.
TAIL: tuple[Rule, ...] = (rules.lower_reason,)
#: the `kind` of a rule in `rule_table`: JSON values kept as they were; a table shows each through
#: `pgettext("value", …)` (en.po gives the English)
WARNS, REFUSES = "cảnh báo", "từ chối"
#: Rules that flag without refusing: the results are stored and the warning shown.
WARNINGS: tuple[Rule, ...] = (rules.few_full_members,)

RULE_SETS: dict[str, tuple[Rule, ...]] = {
    "qd124": (*COMMON, *TAIL),
    "qd366": (*COMMON, rules.score_range, rules.score_missing, rules.score_band, rules.score_gate, *TAIL),
}


def rule_codes(rule_set: str) -> list[str]:
    """The codes a rule set checks, in the order they run (for `docs` and tests)."""
    return [rule.code for rule in RULE_SETS[rule_set]]  # type: ignore[attr-defined]


def warnings(sheet: Sheet, ctx: Context) -> list[Violation]:
    """What looks implausible without breaking a rule (shown, stored, never refused)."""
    return [violation for rule in WARNINGS for violation in rule(sheet, ctx)]


def validate(sheet: Sheet, ctx: Context) -> list[Violation]:
    """Every violation of `sheet` under the context's rule set; empty means valid."""
    try:
        chosen = RULE_SETS[ctx.rule_set]
    except KeyError:
        raise ValueError(f"unknown rule set '{ctx.rule_set}' (known: {', '.join(RULE_SETS)})") from None
    return [violation for rule in chosen for violation in rule(sheet, ctx)]


def rule_table() -> list[dict[str, str]]:
    """Every rule once: code, the rule sets that check it, whether it refuses or warns, what it
    says (in the chosen language) and its source (the cited texts' own titles, in Vietnamese).
    `results check --rules` prints it, the README renders it."""
    rows = []
    for info in rules.CATALOG.values():
        sets = [name for name, chosen in RULE_SETS.items()
                if info.code in {rule.code for rule in chosen}]  # type: ignore[attr-defined]
        warns = info.code in {rule.code for rule in WARNINGS}  # type: ignore[attr-defined]
        rows.append({"code": info.code, "rule_sets": ", ".join(sets or list(RULE_SETS)),
                     "kind": WARNS if warns else REFUSES, "message": _(info.summary),
                     "source": info.source})
    return rows


def rule_table_markdown() -> str:
    """`rule_table` as the Markdown table the README carries (a test keeps them equal)."""
    lines = ["| code | rule sets | kind | rule | source |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| `{r['code']}` | {r['rule_sets']} | {r['kind']} | {r['message']} | {r['source']} |"
              for r in rule_table()]
    return "\n".join(lines) + "\n"

"""How a plan's deadline is said, in one place: "trước ngày 20/11/2026", "hoàn thành ngày 16/11/2026".

A plan writes each deadline `before: DATE` or `by: DATE`; people read it back in those words,
never as the instant it falls due (a `by` date falls due at the next midnight). Messages to
units always say it in Vietnamese (`deadline_phrase`); what an officer reads at a terminal
follows `KIEMDIEM_LANG` (`deadline_words`).
"""

from __future__ import annotations

from datetime import date

from config.i18n import _

RULE_WORDS = {"before": "trước ngày", "by": "hoàn thành ngày"}


def deadline_phrase(rule: str | None, day: date | str) -> str:
    """Say a deadline as the plan wrote it: "trước ngày 20/11/2026" or "hoàn thành ngày 16/11/2026"."""
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{RULE_WORDS.get(rule or 'before', RULE_WORDS['before'])} {value:%d/%m/%Y}"


def deadline_words(rule: str | None, day: date) -> str:
    """`deadline_phrase` in the command line's language (the catalogs' "before {day}")."""
    said = _("done by {day}") if rule == "by" else _("before {day}")
    return said.format(day=f"{day:%d/%m/%Y}")

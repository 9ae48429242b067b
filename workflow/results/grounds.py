"""Why a member or a collective is rated below what its score and votes would allow.

A level is a ceiling (DOMAIN rule 7 and the "ceilings" paragraph): a rating below it needs a
stated ground, `lower_reason`, and a KHT ground makes KHT the ceiling itself. The grounds are
those Quy định 124-QĐ/TW lists for "không hoàn thành nhiệm vụ" (as quoted by
xaydungchinhsach.chinhphu.vn, 09/10/2023); Quy định 366-QĐ/TW keeps the KHT cases of the
score (< 50) and, as far as the texts found say, the same grounds (its full text and Hướng
dẫn 43-HD/BTCTW were not found: see the rule table's sources).
"""

from __future__ import annotations

from workflow.results.sheet import Member

#: code -> (name, an English msgid: `_()` it where shown; source)
KHT_GROUNDS: dict[str, tuple[str, str]] = {
    "DISCIPLINED": ("disciplined in the year (unless discovered and remedied by the organisation itself)",
                    "QĐ 124-QĐ/TW Điều 12 (xaydungchinhsach.chinhphu.vn); HD 21-HD/BTCTW 2019"),
    "FORBIDDEN_ACTS": ("broke what members must not do",
                       "QĐ 124-QĐ/TW Điều 12 (xaydungchinhsach.chinhphu.vn)"),
    "DEGRADATION": ("degradation in political ideology, ethics and lifestyle, \"self-evolution\", "
                    "\"self-transformation\"",
                    "QĐ 124-QĐ/TW Điều 12 (xaydungchinhsach.chinhphu.vn)"),
    "TASKS_UNDER_HALF": ("completed under 50% of targets and tasks",
                         "QĐ 124-QĐ/TW Điều 12 (xaydungchinhsach.chinhphu.vn)"),
    "CIVIL_SERVICE_KHT": ("an official or civil servant rated as not completing their tasks",
                          "HD 16-HD/BTCTW 2018, HD 21-HD/BTCTW 2019 (thuvienphapluat.vn)"),
}
QUOTA, OTHER = "QUOTA", "OTHER"
#: what `lower_reason` may say: the quota binding, a KHT ground, or another reason with a text
LOWER_REASONS: tuple[str, ...] = (QUOTA, *KHT_GROUNDS, OTHER)
#: how the report counts lowered ratings
LOWER_KIND = {QUOTA: "quota", OTHER: "other", **dict.fromkeys(KHT_GROUNDS, "ground")}


def split_codes(text: str | None) -> tuple[str, ...]:
    """The codes of a `kht_grounds` cell ('A; B' or 'A,B'), upper-cased, empty ones dropped."""
    if not text:
        return ()
    return tuple(code.strip().upper() for code in text.replace(",", ";").split(";") if code.strip())


def disciplined_in_year(m: Member, year: int) -> bool:
    """Disciplined in the review year: `disciplined_on` in that year, or the bare flag without a
    date (a discipline of an earlier year was counted then: one violation counts once)."""
    if m.disciplined_on is not None:
        return m.disciplined_on.year == year
    return m.disciplined


def kht_grounds_of(m: Member, year: int) -> list[str]:
    """Every ground that makes KHT the ceiling of `m` in `year`."""
    found = [g for g in split_codes(m.kht_grounds) if g in KHT_GROUNDS]
    if m.lower_reason in KHT_GROUNDS and m.lower_reason not in found:
        found.append(m.lower_reason)
    if disciplined_in_year(m, year) and not m.self_discovered and "DISCIPLINED" not in found:
        found.append("DISCIPLINED")
    if (m.tasks_completed is not None and m.tasks_total and 2 * m.tasks_completed < m.tasks_total
            and "TASKS_UNDER_HALF" not in found):
        found.append("TASKS_UNDER_HALF")
    return found


"""Each rule of DOMAIN.md as a small pure function: (sheet, context) -> violations.

A rule names itself with a code (`QUOTA_EXCELLENT`, …) and reports the member, the numbers
and a Vietnamese sentence, so a secretary can fix the file without reading the regulation.
Thresholds are exact: votes and quotas use integer or `Fraction` arithmetic, never floats
that round 0.29 × 100 down to 28.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor

from workflow.results.levels import HT, HTT, HTXS, KHT, NOT_CLASSIFIED, PENDING, RANK, RATED, lower, step_down
from workflow.results.sheet import Counts, Member, Sheet

#: Months before the review date that make a member or an organisation "new" (DOMAIN rule 4).
NEW_MONTHS = 6
#: Sick leave of this many months or more in the year caps the level at HT (rule 5).
SICK_LEAVE_MONTHS = 3
#: Caps of the two parts of a qd366 score (rule 11).
GENERAL_CAP, TASKS_CAP = 30, 70
#: qd366 score bands: the lowest total score of each level.
BAND_FLOOR: dict[str, int] = {HTXS: 90, HTT: 70, HT: 50, KHT: 0}


@dataclass(frozen=True)
class Context:
    """What the rules need besides the sheet: the campaign's rule set and quota, and the
    date "less than 6 months" is counted back from (the cell meeting, see `store`)."""

    rule_set: str
    excellent_quota: float
    review_date: date


@dataclass(frozen=True)
class Violation:
    code: str
    member: str | None
    message: str


Rule = Callable[[Sheet, Context], Iterator[Violation]]


def _rule(code: str) -> Callable[[Rule], Rule]:
    def mark(fn: Rule) -> Rule:
        fn.code = code  # type: ignore[attr-defined]
        return fn
    return mark


def _members(sheet: Sheet) -> tuple[Member, ...]:
    return sheet.members or ()


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, clamped to the month's end (31/8 + 6 → 28/2)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_new(since: date | None, review_date: date) -> bool:
    """Say whether `since` is less than six months before the review (exactly six is not)."""
    return since is not None and add_months(since, NEW_MONTHS) > review_date


def not_classified_reason(member: Member, review_date: date) -> str:
    if member.exempt:
        return "exempt"
    if member.suspended:
        return "suspended"
    if is_new(member.admitted_on, review_date):
        return "new_member"
    return "other"


def tally(members: tuple[Member, ...], review_date: date) -> Counts:
    """Count members per level and the not-classified ones per reason."""
    by_level: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for m in members:
        by_level[m.level] = by_level.get(m.level, 0) + 1
        if m.level == NOT_CLASSIFIED:
            reason = not_classified_reason(m, review_date)
            reasons[reason] = reasons.get(reason, 0) + 1
    return Counts(by_level, reasons)


def _percent(q: float) -> str:
    return f"{(Decimal(str(q)) * 100).normalize():f}%"


def quota_allowed(htt: int, quota: float) -> int:
    """The most HTXS a unit may have with `htt` members at HTT: floor(q × HTT), exactly."""
    return floor(Fraction(Decimal(str(quota))) * htt)


@_rule("QUOTA_EXCELLENT")
def quota_excellent(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    htxs, htt = sheet.counts[HTXS], sheet.counts[HTT]
    allowed = quota_allowed(htt, ctx.excellent_quota)
    if htxs > allowed:
        yield Violation("QUOTA_EXCELLENT", None,
                        f"Số đảng viên HTXS ({htxs}) vượt {_percent(ctx.excellent_quota)} số HTT "
                        f"({htt}): tối đa {allowed}")


def votes_needed(level: str, voting: int) -> int:
    """The fewest approving votes that are strictly more than 2/3 (HTXS) or 1/2 of `voting`."""
    return (2 * voting) // 3 + 1 if level == HTXS else voting // 2 + 1


@_rule("VOTE_THRESHOLD")
def vote_threshold(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level not in RATED or m.votes_for is None or m.full_members_voting is None:
            continue
        if m.level == KHT and m.disciplined:
            continue  # a member serving a discipline is KHT without a vote (seed 001)
        need = votes_needed(m.level, m.full_members_voting)
        if m.votes_for < need:
            share = "2/3" if m.level == HTXS else "1/2"
            yield Violation("VOTE_THRESHOLD", m.name,
                            f"Đảng viên {m.name}: mức {m.level} cần trên {share} số đảng viên chính "
                            f"thức tán thành ({m.votes_for}/{m.full_members_voting}, cần ít nhất {need})")


@_rule("HEAD_ABOVE_COLLECTIVE")
def head_above_collective(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    collective = sheet.collective_level
    if collective not in RATED:
        return
    for m in _members(sheet):
        if m.is_head and m.level in RATED and RANK[m.level] > RANK[collective]:
            yield Violation("HEAD_ABOVE_COLLECTIVE", m.name,
                            f"Người đứng đầu {m.name} xếp loại {m.level}, cao hơn mức của tập thể "
                            f"({collective})")


@_rule("NEW_MEMBER_NOT_CLASSIFIED")
def new_member_not_classified(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level in RATED and is_new(m.admitted_on, ctx.review_date):
            yield Violation("NEW_MEMBER_NOT_CLASSIFIED", m.name,
                            f"Đảng viên {m.name} kết nạp ngày {m.admitted_on:%d/%m/%Y}, chưa đủ "
                            f"{NEW_MONTHS} tháng tính đến {ctx.review_date:%d/%m/%Y}: chỉ kiểm điểm, "
                            f"không xếp loại (nhập: {m.level})")


@_rule("NEW_ORGANISATION_NOT_CLASSIFIED")
def new_organisation_not_classified(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    if sheet.collective_level in RATED and is_new(sheet.founded_on, ctx.review_date):
        yield Violation("NEW_ORGANISATION_NOT_CLASSIFIED", None,
                        f"Tổ chức đảng thành lập ngày {sheet.founded_on:%d/%m/%Y}, chưa đủ {NEW_MONTHS} "
                        f"tháng tính đến {ctx.review_date:%d/%m/%Y}: chỉ kiểm điểm, không xếp loại "
                        f"(nhập: {sheet.collective_level})")


@_rule("NOT_REVIEWED")
def not_reviewed(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if (m.exempt or m.suspended) and m.level != NOT_CLASSIFIED:
            why = "được miễn công tác và sinh hoạt đảng" if m.exempt else "đang bị đình chỉ sinh hoạt đảng"
            yield Violation("NOT_REVIEWED", m.name,
                            f"Đảng viên {m.name} {why}: không kiểm điểm, không xếp loại (nhập: {m.level})")


@_rule("NOT_CLASSIFIED_REASON")
def not_classified_without_reason(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level == NOT_CLASSIFIED and not_classified_reason(m, ctx.review_date) == "other":
            yield Violation("NOT_CLASSIFIED_REASON", m.name,
                            f"Đảng viên {m.name} không được xếp loại nhưng không thuộc trường hợp nào: "
                            "kết nạp chưa đủ 6 tháng, miễn sinh hoạt hoặc đình chỉ sinh hoạt")
    if sheet.collective_level == NOT_CLASSIFIED and not is_new(sheet.founded_on, ctx.review_date):
        yield Violation("NOT_CLASSIFIED_REASON", None,
                        "Tập thể không được xếp loại nhưng không phải tổ chức mới thành lập chưa đủ 6 tháng")


@_rule("SICK_LEAVE_CAP")
def sick_leave_cap(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        months = m.sick_leave_months or 0
        if months >= SICK_LEAVE_MONTHS and m.level in RATED and RANK[m.level] > RANK[HT]:
            yield Violation("SICK_LEAVE_CAP", m.name,
                            f"Đảng viên {m.name} nghỉ ốm {months:g} tháng (từ {SICK_LEAVE_MONTHS} tháng "
                            f"trở lên): tối đa HT (nhập: {m.level})")


@_rule("DISCIPLINE_KHT")
def discipline_kht(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.disciplined and m.level in RATED and m.level != KHT:
            yield Violation("DISCIPLINE_KHT", m.name,
                            f"Đảng viên {m.name} đang chấp hành kỷ luật trong năm: xếp loại KHT "
                            f"(nhập: {m.level})")


@_rule("ABSENT_PENDING")
def absent_pending(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.exempt or m.suspended:
            continue
        if m.absent and m.level != PENDING:
            yield Violation("ABSENT_PENDING", m.name,
                            f"Đảng viên {m.name} vắng mặt: chờ xếp loại (PENDING) ở cuộc họp chi bộ gần "
                            f"nhất, không xếp loại khi vắng mặt (nhập: {m.level})")
        elif m.level == PENDING and not m.absent:
            yield Violation("ABSENT_PENDING", m.name,
                            f"Đảng viên {m.name} có mặt nhưng chưa được xếp loại (PENDING)")


@_rule("CELL_LEVEL")
def cell_level(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    level, counts = sheet.collective_level, sheet.counts
    kht, rated = counts[KHT], counts.rated
    if level == HTXS and kht:
        yield Violation("CELL_LEVEL", None,
                        f"Chi bộ xếp loại HTXS nhưng có {kht} đảng viên KHT: chi bộ HTXS cần 100% "
                        "đảng viên đạt mức HT trở lên")
    if level in RATED and level != KHT and 2 * kht > rated:
        yield Violation("CELL_LEVEL", None,
                        f"Chi bộ có {kht}/{rated} đảng viên KHT (trên 1/2): chi bộ xếp loại KHT "
                        f"(nhập: {level})")


def score_range_problems(m: Member) -> list[tuple[str, str]]:
    """(column, message) for each score outside its range; `parse` reports them by cell."""
    out = []
    for column, value, cap in (("score_general", m.score_general, GENERAL_CAP),
                               ("score_tasks", m.score_tasks, TASKS_CAP)):
        if value is not None and not 0 <= value <= cap:
            out.append((column, f"điểm {value:g} ngoài khoảng 0–{cap}"))
    return out


@_rule("SCORE_RANGE")
def score_range(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        for column, message in score_range_problems(m):
            yield Violation("SCORE_RANGE", m.name, f"Đảng viên {m.name}: {column} {message}")


def band(score: float) -> str:
    """The qd366 level a total score falls in, before the gates."""
    return next(level for level in RATED if score >= BAND_FLOOR[level])


def gate_failure(m: Member, level: str) -> str | None:
    """Why `m`'s task record does not allow `level` under qd366, or None."""
    total, on_time, exceeded = m.tasks_total or 0, m.tasks_on_time or 0, m.tasks_exceeded or 0
    if level in (HTXS, HTT) and on_time < total:
        return f"{level} cần 100% nhiệm vụ đúng hạn ({on_time}/{total})"
    if level == HTXS and 10 * exceeded < 3 * total:
        return f"HTXS cần từ 30% nhiệm vụ vượt mức trở lên ({exceeded}/{total})"
    if level == HTXS and m.disciplined:
        return "HTXS cần không bị kỷ luật"
    if level == HT and 5 * (total - on_time) > total:
        return f"HT chỉ cho phép tối đa 20% nhiệm vụ trễ hạn ({total - on_time}/{total})"
    return None


def gated_level(m: Member) -> tuple[str, list[str]]:
    """The level `m`'s score and tasks give under qd366, and the gates that lowered it."""
    level, failed = band(m.score or 0), []
    while (why := gate_failure(m, level)) is not None:
        failed.append(why)
        level = step_down(level)
    return level, failed


def capped(m: Member, level: str) -> str:
    """`level` lowered by the caps other rules enforce (sick leave: HT, discipline: KHT)."""
    if m.disciplined:
        return KHT
    if (m.sick_leave_months or 0) >= SICK_LEAVE_MONTHS:
        return lower(level, HT)
    return level


def _has_scores(m: Member) -> bool:
    return m.score is not None and m.tasks_total is not None and m.tasks_on_time is not None


def _scored(sheet: Sheet) -> Iterator[Member]:
    """Rated members whose score and task record let the qd366 level be computed."""
    return (m for m in _members(sheet) if m.level in RATED and _has_scores(m))


@_rule("SCORE_MISSING")
def score_missing(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level in RATED and not _has_scores(m):
            yield Violation("SCORE_MISSING", m.name,
                            f"Đảng viên {m.name}: theo Quy định 366 cần điểm (score_general, "
                            "score_tasks) và số nhiệm vụ (tasks_total, tasks_on_time) để xếp loại")


@_rule("SCORE_BAND")
def score_band(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _scored(sheet):
        by_score = band(m.score)
        expected = capped(m, gated_level(m)[0])
        if RANK[m.level] > RANK[by_score]:
            yield Violation("SCORE_BAND", m.name,
                            f"Đảng viên {m.name}: {m.score:g} điểm thuộc mức {by_score}, không đạt "
                            f"{m.level} (nhập: {m.level}, theo điểm: {expected})")
        elif RANK[m.level] < RANK[expected]:
            yield Violation("SCORE_BAND", m.name,
                            f"Đảng viên {m.name}: {m.score:g} điểm cho mức {expected}, thấp hơn không "
                            f"có căn cứ (nhập: {m.level}, theo điểm: {expected})")


@_rule("SCORE_GATE")
def score_gate(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _scored(sheet):
        gated, failed = gated_level(m)
        if RANK[band(m.score)] >= RANK[m.level] > RANK[gated]:
            yield Violation("SCORE_GATE", m.name,
                            f"Đảng viên {m.name}: {'; '.join(failed)} (nhập: {m.level}, theo điểm và "
                            f"điều kiện: {gated})")

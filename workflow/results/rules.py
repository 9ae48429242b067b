"""Each classification rule (README, "The rules (codes)") as a small pure function: (sheet, context) -> violations.

A rule names itself with a code (`QUOTA_EXCELLENT`, …) and reports the member, the numbers
and a Vietnamese sentence, so a secretary can fix the file without reading the regulation.
Thresholds are exact: votes and quotas use integer or `Fraction` arithmetic, never floats
that round 0.29 × 100 down to 28.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor

from config.i18n import _
from workflow.results.grounds import KHT_GROUNDS, LOWER_KIND, QUOTA, disciplined_in_year, kht_grounds_of
from workflow.results.levels import HT, HTT, HTXS, KHT, NOT_CLASSIFIED, PENDING, RANK, RATED, step_down
from workflow.results.settings import AT_LEAST, BASE, CELL
from workflow.results.sheet import Counts, Member, Sheet

#: Months before the review date that make a member or an organisation "new" (DOMAIN rule 4).
NEW_MONTHS = 6
#: Sick leave of this many months or more in the year caps the level at HT (rule 5).
SICK_LEAVE_MONTHS = 3
#: Caps of the two parts of a qd366 score (rule 11).
GENERAL_CAP, TASKS_CAP = 30, 70
#: qd366 score bands: the lowest total score of each level.
BAND_FLOOR: dict[str, int] = {HTXS: 90, HTT: 70, HT: 50, KHT: 0}
#: A chi bộ has at least this many full members (Điều lệ Đảng, Điều 21).
CELL_MIN_FULL = 3


@dataclass(frozen=True)
class Context:
    """What the rules need besides the sheet: the campaign's rule set, quota and settings
    (`settings.py`), the date "less than 6 months" is counted back from (the cell meeting, see
    `store`), the review year, and the HTXS and HTT members of the other cells counted with
    this one when the quota's scope is the base organisation."""

    rule_set: str
    excellent_quota: float
    review_date: date
    excellent_vote: str = AT_LEAST
    quota_scope: str = BASE
    peers: tuple[int, int] = (0, 0)
    year: int | None = None

    @property
    def review_year(self) -> int:
        return self.year or self.review_date.year


@dataclass(frozen=True)
class Violation:
    code: str
    member: str | None
    message: str


Rule = Callable[[Sheet, Context], Iterator[Violation]]


@dataclass(frozen=True)
class RuleInfo:
    """One line of the rule table: the code, what it says in Vietnamese, where it comes from
    ("[ours]": our reading where the texts found are silent)."""

    code: str
    summary: str
    source: str


#: code -> RuleInfo, in the order the rules are defined (the README renders it)
CATALOG: dict[str, RuleInfo] = {}


def _describe(code: str, summary: str, source: str) -> None:
    CATALOG[code] = RuleInfo(code, summary, source)


def _rule(code: str, summary: str, source: str) -> Callable[[Rule], Rule]:
    """Name a rule and enter it in the table."""
    _describe(code, summary, source)

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
    """Count members per level, the not-classified ones per reason and the lowered ratings
    per kind of ground (quota, KHT ground, other)."""
    by_level: dict[str, int] = {}
    reasons: dict[str, int] = {}
    lowered: dict[str, int] = {}
    for m in members:
        by_level[m.level] = by_level.get(m.level, 0) + 1
        if m.level == NOT_CLASSIFIED:
            reason = not_classified_reason(m, review_date)
            reasons[reason] = reasons.get(reason, 0) + 1
        if m.level in RATED and m.lower_reason in LOWER_KIND:
            kind = LOWER_KIND[m.lower_reason]
            lowered[kind] = lowered.get(kind, 0) + 1
    return Counts(by_level, reasons, lowered)


def is_full_member_present(m: Member, review_date: date) -> bool:
    """A full (chính thức) member at the meeting: not probationary (flagged, or admitted less
    than 12 months before: Điều lệ Đảng Điều 5), not absent, exempt or suspended."""
    return is_full_member(m, review_date) and not (m.absent or m.exempt or m.suspended)


def is_full_member(m: Member, review_date: date) -> bool:
    recent = m.admitted_on is not None and add_months(m.admitted_on, 12) > review_date
    return not (m.probationary or recent)


def _percent(q: float) -> str:
    return f"{(Decimal(str(q)) * 100).normalize():f}%"


def quota_allowed(htt: int, quota: float) -> int:
    """The most HTXS a unit may have with `htt` members at HTT: floor(q × HTT), exactly."""
    return floor(Fraction(Decimal(str(quota))) * htt)


def quota_counts(sheet: Sheet, ctx: Context) -> tuple[int, int]:
    """HTXS and HTT members the quota counts: this cell's, plus its base's other cells' when
    the scope is the base organisation."""
    htxs, htt = sheet.counts[HTXS], sheet.counts[HTT]
    if ctx.quota_scope == CELL:
        return htxs, htt
    return htxs + ctx.peers[0], htt + ctx.peers[1]


def _scope(ctx: Context) -> str:
    return "của chi bộ" if ctx.quota_scope == CELL or ctx.peers == (0, 0) else "của tổ chức cơ sở đảng"


@_rule("QUOTA_EXCELLENT",
       "Số đảng viên HTXS không quá tỷ lệ (excellent_quota) số HTT, tính theo tổ chức cơ sở đảng hoặc chi "
       "bộ (quota_scope)",
       "QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238); HD 21-HD/BTCTW 2019 (thuvienphapluat.vn: "
       "per base); KH chi bộ THPT số 2 Phù Cát 2023 (15%)")
def quota_excellent(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    htxs, htt = quota_counts(sheet, ctx)
    allowed = quota_allowed(htt, ctx.excellent_quota)
    if htxs > allowed:
        yield Violation("QUOTA_EXCELLENT", None,
                        f"Số đảng viên HTXS ({htxs}) vượt {_percent(ctx.excellent_quota)} số HTT "
                        f"({htt}) {_scope(ctx)}: tối đa {allowed}")


def quota_binds(htxs: int, htt: int, quota: float) -> bool:
    """Whether one more HTXS taken from the HTT would break the quota (a QUOTA ground holds)."""
    return htt > 0 and htxs + 1 > quota_allowed(htt - 1, quota)


@_rule("LOWER_QUOTA",
       "Lý do QUOTA chỉ dùng khi đủ điều kiện HTXS, xếp HTT và tỷ lệ HTXS đã hết",
       "[ours] the 20% is a ceiling (QĐ 366-QĐ/TW Điều 11)")
def lower_quota(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    htxs, htt = quota_counts(sheet, ctx)
    for m in _members(sheet):
        if m.lower_reason != QUOTA or m.level not in RATED:
            continue
        top = ceiling(m, ctx)[0] if determined(m, ctx) else HTXS
        if m.level != HTT or top != HTXS:
            yield Violation("LOWER_QUOTA", m.name,
                            f"Đảng viên {m.name}: lý do QUOTA chỉ dùng khi đủ điều kiện HTXS mà xếp HTT vì "
                            f"tỷ lệ (nhập: {m.level}, mức tối đa: {top})")
        elif not quota_binds(htxs, htt, ctx.excellent_quota):
            yield Violation("LOWER_QUOTA", m.name,
                            f"Đảng viên {m.name}: tỷ lệ HTXS chưa hết ({htxs} HTXS, {htt} HTT {_scope(ctx)}, "
                            f"tối đa {_percent(ctx.excellent_quota)}): không dùng được lý do QUOTA")


def votes_needed(level: str, voting: int, excellent_vote: str = AT_LEAST) -> int:
    """The fewest approving votes: 2/3 or more (`at_least_two_thirds`), or strictly more than
    2/3, of `voting` for HTXS; strictly more than 1/2 for the other levels."""
    if level != HTXS:
        return voting // 2 + 1
    return -(-2 * voting // 3) if excellent_vote == AT_LEAST else (2 * voting) // 3 + 1


@_rule("VOTE_THRESHOLD",
       "HTXS cần từ 2/3 trở lên (hoặc trên 2/3: excellent_vote) số đảng viên chính thức tán thành; HTT, HT, "
       "KHT trên 1/2",
       "HD 07-HD/BTCTW 2011 (Bảo Lộc Q&A), KH chi bộ THPT số 2 Phù Cát 2023; HD 25-HD/BTCTW and HD "
       "43-HD/BTCTW not found")
def vote_threshold(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level not in RATED or m.votes_for is None or m.full_members_voting is None:
            continue
        if m.level == KHT and "DISCIPLINED" in kht_grounds_of(m, ctx.review_year):
            continue  # a member disciplined in the year is KHT without a vote (seed 001)
        need = votes_needed(m.level, m.full_members_voting, ctx.excellent_vote)
        if m.votes_for < need:
            share = ("từ 2/3 trở lên" if ctx.excellent_vote == AT_LEAST else "trên 2/3") \
                if m.level == HTXS else "trên 1/2"
            yield Violation("VOTE_THRESHOLD", m.name,
                            f"Đảng viên {m.name}: mức {m.level} cần {share} số đảng viên chính "
                            f"thức tán thành ({m.votes_for}/{m.full_members_voting}, cần ít nhất {need})")


@_rule("VOTE_BASE",
       "Số đảng viên chính thức biểu quyết không nhỏ hơn số đảng viên chính thức có mặt trong danh sách",
       "[ours] Điều lệ Đảng: full members vote")
def vote_base(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    present = sum(is_full_member_present(m, ctx.review_date) for m in _members(sheet))
    for m in _members(sheet):
        if m.full_members_voting is not None and m.full_members_voting < present:
            yield Violation("VOTE_BASE", m.name,
                            f"Đảng viên {m.name}: số đảng viên chính thức biểu quyết ({m.full_members_voting}) "
                            f"nhỏ hơn số đảng viên chính thức có mặt trong danh sách ({present})")


@_rule("TWO_HEADS",
       "Một chi bộ chỉ có một người đứng đầu (is_head)",
       "[ours] a cell has one bí thư")
def two_heads(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    heads = [m.name for m in _members(sheet) if m.is_head]
    if len(heads) > 1:
        yield Violation("TWO_HEADS", None,
                        f"Chi bộ chỉ có một người đứng đầu (bí thư), tệp ghi {len(heads)}: {', '.join(heads)}")


@_rule("FEW_FULL_MEMBERS",
       "Chi bộ có dưới 3 đảng viên chính thức: cảnh báo, không từ chối",
       "Điều lệ Đảng Điều 21")
def few_full_members(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    if sheet.members is None:
        return
    full = sum(is_full_member(m, ctx.review_date) for m in sheet.members)
    if full < CELL_MIN_FULL:
        yield Violation("FEW_FULL_MEMBERS", None,
                        f"Chi bộ có {full} đảng viên chính thức trong danh sách: chi bộ cần ít nhất "
                        f"{CELL_MIN_FULL} (Điều lệ Đảng); kiểm tra lại danh sách")


@_rule("HEAD_ABOVE_COLLECTIVE",
       "Người đứng đầu không xếp cao hơn mức của tập thể mình lãnh đạo",
       "KH 24-KH/ĐUK 2021; QĐ 124-QĐ/TW Điều 12 (lawnet.vn)")
def head_above_collective(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    collective = sheet.collective_level
    if collective not in RATED:
        return
    for m in _members(sheet):
        if m.is_head and m.level in RATED and RANK[m.level] > RANK[collective]:
            yield Violation("HEAD_ABOVE_COLLECTIVE", m.name,
                            f"Người đứng đầu {m.name} xếp loại {m.level}, cao hơn mức của tập thể "
                            f"({collective})")


@_rule("NEW_MEMBER_NOT_CLASSIFIED",
       "Đảng viên kết nạp chưa đủ 6 tháng: chỉ kiểm điểm, không xếp loại",
       "QĐ 124-QĐ/TW Điều 5 (dansinh.dantri.com.vn)")
def new_member_not_classified(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level in RATED and is_new(m.admitted_on, ctx.review_date):
            yield Violation("NEW_MEMBER_NOT_CLASSIFIED", m.name,
                            f"Đảng viên {m.name} kết nạp ngày {m.admitted_on:%d/%m/%Y}, chưa đủ "
                            f"{NEW_MONTHS} tháng tính đến {ctx.review_date:%d/%m/%Y}: chỉ kiểm điểm, "
                            f"không xếp loại (nhập: {m.level})")


@_rule("NEW_ORGANISATION_NOT_CLASSIFIED",
       "Tổ chức đảng thành lập chưa đủ 6 tháng: chỉ kiểm điểm, không xếp loại",
       "QĐ 124-QĐ/TW Điều 5 (dansinh.dantri.com.vn); KH 24-KH/ĐUK 2021")
def new_organisation_not_classified(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    if sheet.collective_level in RATED and is_new(sheet.founded_on, ctx.review_date):
        yield Violation("NEW_ORGANISATION_NOT_CLASSIFIED", None,
                        f"Tổ chức đảng thành lập ngày {sheet.founded_on:%d/%m/%Y}, chưa đủ {NEW_MONTHS} "
                        f"tháng tính đến {ctx.review_date:%d/%m/%Y}: chỉ kiểm điểm, không xếp loại "
                        f"(nhập: {sheet.collective_level})")


@_rule("NOT_REVIEWED",
       "Đảng viên miễn công tác và sinh hoạt đảng hoặc đang bị đình chỉ sinh hoạt: không kiểm điểm, không xếp loại",
       "QĐ 124-QĐ/TW Điều 5 (dansinh.dantri.com.vn); KH 24-KH/ĐUK 2021")
def not_reviewed(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if (m.exempt or m.suspended) and m.level != NOT_CLASSIFIED:
            why = "được miễn công tác và sinh hoạt đảng" if m.exempt else "đang bị đình chỉ sinh hoạt đảng"
            yield Violation("NOT_REVIEWED", m.name,
                            f"Đảng viên {m.name} {why}: không kiểm điểm, không xếp loại (nhập: {m.level})")


@_rule("NOT_CLASSIFIED_REASON",
       "Không xếp loại chỉ khi kết nạp chưa đủ 6 tháng, miễn hoặc đình chỉ sinh hoạt (tập thể: thành lập "
       "chưa đủ 6 tháng)",
       "QĐ 124-QĐ/TW Điều 5 (dansinh.dantri.com.vn); KH 24-KH/ĐUK 2021")
def not_classified_without_reason(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level == NOT_CLASSIFIED and not_classified_reason(m, ctx.review_date) == "other":
            yield Violation("NOT_CLASSIFIED_REASON", m.name,
                            f"Đảng viên {m.name} không được xếp loại nhưng không thuộc trường hợp nào: "
                            "kết nạp chưa đủ 6 tháng, miễn sinh hoạt hoặc đình chỉ sinh hoạt")
    if sheet.collective_level == NOT_CLASSIFIED and not is_new(sheet.founded_on, ctx.review_date):
        yield Violation("NOT_CLASSIFIED_REASON", None,
                        "Tập thể không được xếp loại nhưng không phải tổ chức mới thành lập chưa đủ 6 tháng")


@_rule("SICK_LEAVE_CAP",
       "Nghỉ ốm từ 3 tháng trở lên trong năm: tối đa HT (nghỉ thai sản: không giới hạn)",
       "HD 21-HD/BTCTW 2019; KH chi bộ THPT số 2 Phù Cát 2023, KH 24-KH/ĐUK 2021")
def sick_leave_cap(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        months = m.sick_leave_months or 0
        if months >= SICK_LEAVE_MONTHS and m.level in RATED and RANK[m.level] > RANK[HT]:
            yield Violation("SICK_LEAVE_CAP", m.name,
                            f"Đảng viên {m.name} nghỉ ốm {months:g} tháng (từ {SICK_LEAVE_MONTHS} tháng "
                            f"trở lên): tối đa HT (nhập: {m.level})")


@_rule("DISCIPLINE_KHT",
       "Bị kỷ luật trong năm kiểm điểm (một vi phạm tính một lần), trừ trường hợp tổ chức đảng tự phát hiện: KHT",
       "QĐ 124-QĐ/TW Điều 12 (xaydungchinhsach.chinhphu.vn); HD 21-HD/BTCTW 2019")
def discipline_kht(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level in RATED and m.level != KHT and "DISCIPLINED" in kht_grounds_of(m, ctx.review_year):
            yield Violation("DISCIPLINE_KHT", m.name,
                            f"Đảng viên {m.name} bị kỷ luật trong năm {ctx.review_year} (không phải do tổ "
                            f"chức đảng tự phát hiện): xếp loại KHT (nhập: {m.level})")


@_rule("KHT_GROUND",
       "Có căn cứ KHT (kht_grounds: vi phạm điều đảng viên không được làm, suy thoái, dưới 50% nhiệm vụ, "
       "công chức KHT): KHT",
       "QĐ 124-QĐ/TW Điều 12 (xaydungchinhsach.chinhphu.vn); HD 16-HD/BTCTW 2018")
def kht_ground(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        grounds = [g for g in kht_grounds_of(m, ctx.review_year) if g != "DISCIPLINED"]
        if m.level in RATED and m.level != KHT and grounds:
            named = "; ".join(KHT_GROUNDS[g][0] for g in grounds)
            yield Violation("KHT_GROUND", m.name,
                            f"Đảng viên {m.name}: {named}: xếp loại KHT (nhập: {m.level})")


@_rule("ABSENT_PENDING",
       "Vắng mặt: chờ xếp loại (PENDING) ở cuộc họp chi bộ gần nhất",
       "KH chi bộ THPT số 2 Phù Cát 2023, KH 24-KH/ĐUK 2021")
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


@_rule("CELL_LEVEL",
       "Chi bộ HTXS cần 100% đảng viên HT trở lên; trên 1/2 đảng viên KHT: chi bộ KHT",
       "KH chi bộ THPT số 2 Phù Cát 2023 (HTXS); [ours] (KHT)")
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
            out.append((column, _("score {value} outside 0–{cap}").format(value=f"{value:g}", cap=cap)))
    return out


@_rule("SCORE_RANGE",
       "Điểm tiêu chí chung 0–30, kết quả thực hiện nhiệm vụ 0–70",
       "QĐ 366-QĐ/TW (laodong.vn)")
def score_range(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        for column, message in score_range_problems(m):
            yield Violation("SCORE_RANGE", m.name, f"Đảng viên {m.name}: {column} {message}")


def band(score: float) -> str:
    """The qd366 level a total score falls in, before the gates."""
    return next(level for level in RATED if score >= BAND_FLOOR[level])


def gate_failure(m: Member, level: str, year: int) -> str | None:
    """Why `m`'s task record does not allow `level` under qd366, or None. Late tasks are the
    completed ones not on time; without `tasks_completed` every task counts as completed."""
    total, on_time, exceeded = m.tasks_total or 0, m.tasks_on_time or 0, m.tasks_exceeded or 0
    completed = total if m.tasks_completed is None else m.tasks_completed
    if level == HTXS and total == 0:
        return "HTXS cần ít nhất một nhiệm vụ được giao (0 nhiệm vụ)"
    if level in (HTXS, HTT) and on_time < total:
        return f"{level} cần 100% nhiệm vụ đúng hạn ({on_time}/{total})"
    if level == HTXS and 10 * exceeded < 3 * total:
        return f"HTXS cần từ 30% nhiệm vụ vượt mức trở lên ({exceeded}/{total})"
    if level == HTXS and disciplined_in_year(m, year):
        return "HTXS cần không bị kỷ luật trong năm"
    if level == HTXS and m.subordinates_disciplined:
        return "HTXS cần không có đơn vị trực thuộc hoặc thành viên tập thể lãnh đạo bị kỷ luật"
    if level == HTXS and m.shortcomings_fixed is False:
        return "HTXS cần khắc phục 100% hạn chế, khuyết điểm đã chỉ ra"
    if level == HTXS and m.units_target_met is False:
        return "HTXS cần đơn vị do mình phụ trách hoàn thành 100% nhiệm vụ, từ 30% vượt mức"
    if level == HT and completed < total:
        return f"HT cần hoàn thành 100% nhiệm vụ ({completed}/{total})"
    if level == HT and 5 * (completed - on_time) > total:
        return f"HT chỉ cho phép tối đa 20% nhiệm vụ trễ hạn ({completed - on_time}/{total})"
    return None


def gated_level(m: Member, year: int) -> tuple[str, list[str]]:
    """The level `m`'s score and tasks give under qd366, and the gates that lowered it."""
    level, failed = band(m.score or 0), []
    while (why := gate_failure(m, level, year)) is not None:
        failed.append(why)
        if level == KHT:
            break
        level = step_down(level)
    return level, failed


def ceiling(m: Member, ctx: Context) -> tuple[str, list[str]]:
    """The highest level `m` may get and why it is not HTXS: the qd366 score and gates where
    given, then the caps (sick leave: HT; a KHT ground: KHT)."""
    level, why = HTXS, []
    if ctx.rule_set == "qd366" and _has_scores(m):
        level, why = gated_level(m, ctx.review_year)
        if band(m.score) != HTXS:
            why.insert(0, f"{m.score:g} điểm thuộc mức {band(m.score)}")
    if m.subordinates_disciplined and level == HTXS:
        level = HTT
        why.append("có đơn vị trực thuộc hoặc thành viên tập thể lãnh đạo bị kỷ luật")
    if (m.sick_leave_months or 0) >= SICK_LEAVE_MONTHS and RANK[level] > RANK[HT]:
        level = HT
        why.append(f"nghỉ ốm {m.sick_leave_months:g} tháng")
    grounds = kht_grounds_of(m, ctx.review_year)
    if grounds:
        level = KHT
        why.extend(KHT_GROUNDS[g][0] for g in grounds)
    return level, why


def determined(m: Member, ctx: Context) -> bool:
    """Whether the ceiling is known, not only bounded: a qd366 score, or a KHT ground."""
    return (ctx.rule_set == "qd366" and _has_scores(m)) or bool(kht_grounds_of(m, ctx.review_year))


def _has_scores(m: Member) -> bool:
    return m.score is not None and m.tasks_total is not None and m.tasks_on_time is not None


def _scored(sheet: Sheet) -> Iterator[Member]:
    """Rated members whose score and task record let the qd366 level be computed."""
    return (m for m in _members(sheet) if m.level in RATED and _has_scores(m))


@_rule("SCORE_MISSING",
       "Theo QĐ 366 cần điểm (score_general, score_tasks) và số nhiệm vụ (tasks_total, tasks_on_time)",
       "QĐ 366-QĐ/TW Điều 11 (laodong.vn)")
def score_missing(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level in RATED and not _has_scores(m):
            yield Violation("SCORE_MISSING", m.name,
                            f"Đảng viên {m.name}: theo Quy định 366 cần điểm (score_general, "
                            "score_tasks) và số nhiệm vụ (tasks_total, tasks_on_time) để xếp loại")


@_rule("SCORE_BAND",
       "Mức không cao hơn khung điểm: từ 90 HTXS, 70–dưới 90 HTT, 50–dưới 70 HT, dưới 50 KHT",
       "QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238, laodong.vn)")
def score_band(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _scored(sheet):
        by_score = band(m.score)
        if RANK[m.level] > RANK[by_score]:
            yield Violation("SCORE_BAND", m.name,
                            f"Đảng viên {m.name}: {m.score:g} điểm thuộc mức {by_score}, không đạt "
                            f"{m.level} (nhập: {m.level}, tối đa: {ceiling(m, ctx)[0]})")


@_rule("SCORE_GATE",
       "HTXS: ít nhất 1 nhiệm vụ, 100% đúng hạn, từ 30% vượt mức, không bị kỷ luật, khắc phục 100% khuyết "
       "điểm, đơn vị phụ trách đạt; HTT: 100% đúng hạn; HT: 100% hoàn thành, tối đa 20% trễ hạn",
       "QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238, laodong.vn)")
def score_gate(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _scored(sheet):
        gated, failed = gated_level(m, ctx.review_year)
        if RANK[band(m.score)] >= RANK[m.level] > RANK[gated]:
            yield Violation("SCORE_GATE", m.name,
                            f"Đảng viên {m.name}: {'; '.join(failed)} (nhập: {m.level}, theo điểm và "
                            f"điều kiện: {gated})")


def _below(m: Member, ctx: Context, who: str) -> Iterator[Violation]:
    if m.level not in RATED or not determined(m, ctx):
        return
    top, _why = ceiling(m, ctx)
    if RANK[m.level] < RANK[top] and m.lower_reason is None:
        yield Violation("LOWER_REASON", m.name if who != "Tập thể" else None,
                        f"{who}: mức tối đa là {top}, xếp {m.level} thấp hơn cần ghi lý do (lower_reason: "
                        "QUOTA, một căn cứ KHT, hoặc OTHER kèm lower_reason_text)")


@_rule("LOWER_REASON",
       "Xếp thấp hơn mức tối đa theo điểm, điều kiện và giới hạn cần ghi lower_reason (QUOTA, căn cứ KHT, "
       "hoặc OTHER kèm lower_reason_text)",
       "[ours] levels are ceilings")
def lower_reason(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        yield from _below(m, ctx, f"Đảng viên {m.name}")
    record = collective_record(sheet)
    if record is not None:
        yield from _below(record, ctx, "Tập thể")


def collective_record(sheet: Sheet) -> Member | None:
    """The collective's own record with its level, when it has both."""
    if sheet.collective is None or sheet.collective_level not in RATED:
        return None
    return replace(sheet.collective, level=sheet.collective_level)


@_rule("COLLECTIVE_CEILING",
       "Mức của tập thể không cao hơn điểm, điều kiện và căn cứ KHT của tập thể (collective)",
       "QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238, laodong.vn); QĐ 124-QĐ/TW Điều 12 "
       "(xaydungchinhsach.chinhphu.vn)")
def collective_ceiling(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    record = collective_record(sheet)
    if record is None:
        return
    top, why = ceiling(record, ctx)
    if RANK[record.level] > RANK[top]:
        yield Violation("COLLECTIVE_CEILING", None,
                        f"Tập thể xếp loại {record.level}, tối đa {top}: {'; '.join(why)}")


@_rule("COLLECTIVE_DISCIPLINE",
       "Tập thể HTXS: không có thành viên cấp ủy bị kỷ luật trong năm; theo QĐ 124, HTT trở lên: không có "
       "đảng viên bị kỷ luật, trừ trường hợp tự phát hiện",
       "QĐ 366-QĐ/TW Điều 11 khoản 1 (tintuc.thuvienphapluat.com 100238); QĐ 124-QĐ/TW Điều 12 (lawnet.vn); "
       "KH chi bộ THPT số 2 Phù Cát 2023")
def collective_discipline(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    """A collective's level against its members' discipline in the year: no HTXS when a
    leadership member (head or committee role) was disciplined; under qd124 no HTT or HTXS
    when any member was, unless the organisation discovered it itself (seed 001, QĐ 124 Điều 12)."""
    level = sheet.collective_level
    if level not in RATED:
        return
    members = [m for m in _members(sheet) if disciplined_in_year(m, ctx.review_year)]
    leaders = [m.name for m in members if m.is_head or m.role]
    if level == HTXS and leaders:
        yield Violation("COLLECTIVE_DISCIPLINE", None,
                        f"Tập thể HTXS cần không có thành viên cấp ủy bị kỷ luật trong năm "
                        f"({', '.join(leaders)})")
    others = [m.name for m in members if not m.self_discovered]
    if ctx.rule_set == "qd124" and RANK[level] > RANK[HT] and others:
        yield Violation("COLLECTIVE_DISCIPLINE", None,
                        f"Tập thể {level} cần không có đảng viên bị kỷ luật trong năm, trừ trường hợp tổ "
                        f"chức đảng tự phát hiện ({', '.join(others)}): tối đa HT")


_describe("COLLECTIVE_QUOTA",
          "Số tập thể HTXS không quá tỷ lệ (excellent_quota) số tập thể HTT cùng cấp trên (chi bộ của một "
          "đảng bộ cơ sở, tổ chức cơ sở đảng của một cấp trên), khi cấp trên nhập mức của đơn vị trực thuộc",
          "QĐ 124-QĐ/TW Điều 12 (lawnet.vn); QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238)")


def collective_quota(levels: dict[str, str | None], records: dict[str, Member], quota: float) -> list[Violation]:
    """The collectives' quota among the units of one parent (cells of a base, bases of a
    parent; QĐ 124 Điều 12: within a group of similar roles): HTXS ≤ floor(q × HTT), and a
    collective's QUOTA ground only when the quota binds. `levels` maps every sibling's code to
    its level, `records` the entered records that may state a `lower_reason`."""
    htxs = sum(level == HTXS for level in levels.values())
    htt = sum(level == HTT for level in levels.values())
    allowed = quota_allowed(htt, quota)
    out = []
    if htxs > allowed:
        out.append(Violation("COLLECTIVE_QUOTA", None,
                             f"Số tập thể HTXS ({htxs}) vượt {_percent(quota)} số tập thể HTT ({htt}) cùng "
                             f"cấp trên: tối đa {allowed}"))
    for code, record in records.items():
        if record.lower_reason == QUOTA and (levels.get(code) != HTT or not quota_binds(htxs, htt, quota)):
            out.append(Violation("LOWER_QUOTA", code,
                                 f"Tập thể {code}: lý do QUOTA chỉ dùng khi xếp HTT vì tỷ lệ HTXS đã hết "
                                 f"({htxs} HTXS, {htt} HTT, tối đa {_percent(quota)})"))
    return out

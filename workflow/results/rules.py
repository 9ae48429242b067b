"""Each classification rule (README, "The rules (codes)") as a small pure function: (sheet, context) -> violations.

A rule names itself with a code (`QUOTA_EXCELLENT`, …) and reports the member and the numbers
as a `Problem` (a message code and its data) that the edges word in the reader's language, so
a secretary can fix the file without reading the regulation, and a stored violation is worded
when it is shown, not when it was found. Thresholds are exact: votes and quotas use integer or
`Fraction` arithmetic, never floats that round 0.29 × 100 down to 28.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

from workflow.errors import Phrase, Problem, from_json, to_json
from workflow.results.grounds import KHT_GROUNDS, LOWER_KIND, QUOTA, disciplined_in_year, kht_grounds_of
from workflow.results.levels import HT, HTT, HTXS, KHT, LEVEL_RANK, NOT_CLASSIFIED, PENDING, RATED, step_down
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
    """A broken rule: its code, the member it is about, and what to say (worded at the edges).

    A violation stored before messages were kept as codes has its sentence instead, shown as is.
    """

    code: str
    member: str | None
    message: Problem | str

    def stored(self) -> dict[str, Any]:
        """The JSON a results row keeps: the message as code and data, worded when shown."""
        return {"code": self.code, "member": self.member, "said": to_json(self.message)}

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Violation:
        """Read back `stored()`, or an older row's worded `message`."""
        said = data.get("said")
        return cls(data["code"], data.get("member"), from_json(said) if said else str(data.get("message", "")))


Rule = Callable[[Sheet, Context], Iterator[Violation]]


@dataclass(frozen=True)
class RuleInfo:
    """One line of the rule table: the code, what it says (an English msgid, translated where
    shown), where it comes from ("[ours]": our reading where the texts found are silent)."""

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


def _scope(ctx: Context) -> Problem:
    return Problem("rule.scope_cell") if ctx.quota_scope == CELL or ctx.peers == (0, 0) else Problem("rule.scope_base")


@_rule("QUOTA_EXCELLENT",
       "HTXS members at most a share (excellent_quota) of the HTT, counted per base organisation or"
       " per cell (quota_scope)",
       "QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238); HD 21-HD/BTCTW 2019 (thuvienphapluat.vn: "
       "per base); KH chi bộ THPT số 2 Phù Cát 2023 (15%)")
def quota_excellent(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    htxs, htt = quota_counts(sheet, ctx)
    allowed = quota_allowed(htt, ctx.excellent_quota)
    if htxs > allowed:
        yield Violation("QUOTA_EXCELLENT", None,
                        Problem("rule.quota_excellent", htxs=htxs, percent=_percent(ctx.excellent_quota), htt=htt,
                                scope=_scope(ctx), allowed=allowed))


def quota_binds(htxs: int, htt: int, quota: float) -> bool:
    """Whether one more HTXS taken from the HTT would break the quota (a QUOTA ground holds)."""
    return htt > 0 and htxs + 1 > quota_allowed(htt - 1, quota)


@_rule("LOWER_QUOTA",
       "The reason QUOTA only for a member who qualifies for HTXS, is rated HTT and finds the HTXS "
       "quota used up",
       "[ours] the 20% is a ceiling (QĐ 366-QĐ/TW Điều 11)")
def lower_quota(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    htxs, htt = quota_counts(sheet, ctx)
    for m in _members(sheet):
        if m.lower_reason != QUOTA or m.level not in RATED:
            continue
        top = ceiling(m, ctx)[0] if determined(m, ctx) else HTXS
        if m.level != HTT or top != HTXS:
            yield Violation("LOWER_QUOTA", m.name,
                            Problem("rule.lower_quota", name=m.name, level=m.level, top=top))
        elif not quota_binds(htxs, htt, ctx.excellent_quota):
            yield Violation("LOWER_QUOTA", m.name,
                            Problem("rule.lower_quota_unused", name=m.name, htxs=htxs, htt=htt, scope=_scope(ctx),
                                    percent=_percent(ctx.excellent_quota)))


def votes_needed(level: str, voting: int, excellent_vote: str = AT_LEAST) -> int:
    """The fewest approving votes: 2/3 or more (`at_least_two_thirds`), or strictly more than
    2/3, of `voting` for HTXS; strictly more than 1/2 for the other levels."""
    if level != HTXS:
        return voting // 2 + 1
    return -(-2 * voting // 3) if excellent_vote == AT_LEAST else (2 * voting) // 3 + 1


@_rule("VOTE_THRESHOLD",
       "HTXS needs 2/3 or more (or more than 2/3: excellent_vote) of the full members approving; "
       "HTT, HT, KHT more than 1/2",
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
            if m.level != HTXS:
                share = Problem("rule.share_over_half")
            else:
                share = Problem("rule.share_at_least_two_thirds" if ctx.excellent_vote == AT_LEAST
                                else "rule.share_over_two_thirds")
            yield Violation("VOTE_THRESHOLD", m.name,
                            Problem("rule.vote_threshold", name=m.name, level=m.level, share=share, votes=m.votes_for,
                                    voting=m.full_members_voting, need=need))


@_rule("VOTE_BASE",
       "The full members voting no fewer than the full members present in the list",
       "[ours] Điều lệ Đảng: full members vote")
def vote_base(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    present = sum(is_full_member_present(m, ctx.review_date) for m in _members(sheet))
    for m in _members(sheet):
        if m.full_members_voting is not None and m.full_members_voting < present:
            yield Violation("VOTE_BASE", m.name,
                            Problem("rule.vote_base", name=m.name, voting=m.full_members_voting, present=present))


@_rule("TWO_HEADS",
       "A cell has only one head (is_head)",
       "[ours] a cell has one bí thư")
def two_heads(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    heads = [m.name for m in _members(sheet) if m.is_head]
    if len(heads) > 1:
        yield Violation("TWO_HEADS", None,
                        Problem("rule.two_heads", count=len(heads), names=", ".join(heads)))


@_rule("FEW_FULL_MEMBERS",
       "A cell with fewer than 3 full members: a warning, not a refusal",
       "Điều lệ Đảng Điều 21")
def few_full_members(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    if sheet.members is None:
        return
    full = sum(is_full_member(m, ctx.review_date) for m in sheet.members)
    if full < CELL_MIN_FULL:
        yield Violation("FEW_FULL_MEMBERS", None,
                        Problem("rule.few_full_members", full=full, least=CELL_MIN_FULL))


@_rule("HEAD_ABOVE_COLLECTIVE",
       "A head rated no higher than the collective they lead",
       "KH 24-KH/ĐUK 2021; QĐ 124-QĐ/TW Điều 12 (lawnet.vn)")
def head_above_collective(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    collective = sheet.collective_level
    if collective not in RATED:
        return
    for m in _members(sheet):
        if m.is_head and m.level in RATED and LEVEL_RANK[m.level] > LEVEL_RANK[collective]:
            yield Violation("HEAD_ABOVE_COLLECTIVE", m.name,
                            Problem("rule.head_above_collective", name=m.name, level=m.level, collective=collective))


@_rule("NEW_MEMBER_NOT_CLASSIFIED",
       "A member admitted less than 6 months ago: reviewed, not classified",
       "QĐ 124-QĐ/TW Điều 5 (dansinh.dantri.com.vn)")
def new_member_not_classified(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level in RATED and is_new(m.admitted_on, ctx.review_date):
            yield Violation("NEW_MEMBER_NOT_CLASSIFIED", m.name,
                            Problem("rule.new_member_not_classified", name=m.name,
                                    admitted=f"{m.admitted_on:%d/%m/%Y}", months=NEW_MONTHS,
                                    review=f"{ctx.review_date:%d/%m/%Y}", level=m.level))


@_rule("NEW_ORGANISATION_NOT_CLASSIFIED",
       "An organisation founded less than 6 months ago: reviewed, not classified",
       "QĐ 124-QĐ/TW Điều 5 (dansinh.dantri.com.vn); KH 24-KH/ĐUK 2021")
def new_organisation_not_classified(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    if sheet.collective_level in RATED and is_new(sheet.founded_on, ctx.review_date):
        yield Violation("NEW_ORGANISATION_NOT_CLASSIFIED", None,
                        Problem("rule.new_organisation_not_classified", founded=f"{sheet.founded_on:%d/%m/%Y}",
                                months=NEW_MONTHS, review=f"{ctx.review_date:%d/%m/%Y}", level=sheet.collective_level))


@_rule("NOT_REVIEWED",
       "A member exempt from party work and meetings or suspended from meetings: not reviewed, not "
       "classified",
       "QĐ 124-QĐ/TW Điều 5 (dansinh.dantri.com.vn); KH 24-KH/ĐUK 2021")
def not_reviewed(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if (m.exempt or m.suspended) and m.level != NOT_CLASSIFIED:
            why = Problem("rule.why_exempt") if m.exempt else Problem("rule.why_suspended")
            yield Violation("NOT_REVIEWED", m.name,
                            Problem("rule.not_reviewed", name=m.name, why=why, level=m.level))


@_rule("NOT_CLASSIFIED_REASON",
       "Not classified only when admitted less than 6 months ago, exempt or suspended (a "
       "collective: founded less than 6 months ago)",
       "QĐ 124-QĐ/TW Điều 5 (dansinh.dantri.com.vn); KH 24-KH/ĐUK 2021")
def not_classified_without_reason(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level == NOT_CLASSIFIED and not_classified_reason(m, ctx.review_date) == "other":
            yield Violation("NOT_CLASSIFIED_REASON", m.name,
                            Problem("rule.not_classified_without_reason", name=m.name))
    if sheet.collective_level == NOT_CLASSIFIED and not is_new(sheet.founded_on, ctx.review_date):
        yield Violation("NOT_CLASSIFIED_REASON", None,
                        Problem("rule.collective_not_classified_without_reason"))


@_rule("SICK_LEAVE_CAP",
       "Sick leave of 3 months or more in the year: at most HT (maternity leave: no cap)",
       "HD 21-HD/BTCTW 2019; KH chi bộ THPT số 2 Phù Cát 2023, KH 24-KH/ĐUK 2021")
def sick_leave_cap(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        months = m.sick_leave_months or 0
        if months >= SICK_LEAVE_MONTHS and m.level in RATED and LEVEL_RANK[m.level] > LEVEL_RANK[HT]:
            yield Violation("SICK_LEAVE_CAP", m.name,
                            Problem("rule.sick_leave_cap", name=m.name, months=f"{months:g}", least=SICK_LEAVE_MONTHS,
                                    level=m.level))


@_rule("DISCIPLINE_KHT",
       "Disciplined in the year under review (one violation counts once), unless the organisation "
       "discovered it itself: KHT",
       "QĐ 124-QĐ/TW Điều 12 (xaydungchinhsach.chinhphu.vn); HD 21-HD/BTCTW 2019")
def discipline_kht(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level in RATED and m.level != KHT and "DISCIPLINED" in kht_grounds_of(m, ctx.review_year):
            yield Violation("DISCIPLINE_KHT", m.name,
                            Problem("rule.discipline_kht", name=m.name, year=ctx.review_year, level=m.level))


@_rule("KHT_GROUND",
       "A KHT ground (kht_grounds: acts forbidden to members, degradation, under 50% of tasks, a "
       "KHT civil servant): KHT",
       "QĐ 124-QĐ/TW Điều 12 (xaydungchinhsach.chinhphu.vn); HD 16-HD/BTCTW 2018")
def kht_ground(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        grounds = [g for g in kht_grounds_of(m, ctx.review_year) if g != "DISCIPLINED"]
        if m.level in RATED and m.level != KHT and grounds:
            named = [Phrase(KHT_GROUNDS[g][0]) for g in grounds]
            yield Violation("KHT_GROUND", m.name,
                            Problem("rule.kht_ground", name=m.name, grounds=named, level=m.level))


@_rule("ABSENT_PENDING",
       "Absent: classified later (PENDING) at the next cell meeting",
       "KH chi bộ THPT số 2 Phù Cát 2023, KH 24-KH/ĐUK 2021")
def absent_pending(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.exempt or m.suspended:
            continue
        if m.absent and m.level != PENDING:
            yield Violation("ABSENT_PENDING", m.name,
                            Problem("rule.absent_pending", name=m.name, level=m.level))
        elif m.level == PENDING and not m.absent:
            yield Violation("ABSENT_PENDING", m.name,
                            Problem("rule.present_pending", name=m.name))


@_rule("CELL_LEVEL",
       "An HTXS cell needs 100% of its members at HT or above; more than 1/2 of its members KHT: "
       "the cell is KHT",
       "KH chi bộ THPT số 2 Phù Cát 2023 (HTXS); [ours] (KHT)")
def cell_level(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    level, counts = sheet.collective_level, sheet.counts
    kht, rated = counts[KHT], counts.rated
    if level == HTXS and kht:
        yield Violation("CELL_LEVEL", None,
                        Problem("rule.cell_htxs_with_kht", kht=kht))
    if level in RATED and level != KHT and 2 * kht > rated:
        yield Violation("CELL_LEVEL", None,
                        Problem("rule.cell_mostly_kht", kht=kht, rated=rated, level=level))


def score_range_problems(m: Member) -> list[tuple[str, Problem]]:
    """(column, message) for each score outside its range; `parse` reports them by cell."""
    out: list[tuple[str, Problem]] = []
    for column, value, cap in (("score_general", m.score_general, GENERAL_CAP),
                               ("score_tasks", m.score_tasks, TASKS_CAP)):
        if value is not None and not 0 <= value <= cap:
            out.append((column, Problem("rule.score_outside", value=f"{value:g}", cap=cap)))
    return out


@_rule("SCORE_RANGE",
       "General criteria score 0–30, task results score 0–70",
       "QĐ 366-QĐ/TW (laodong.vn)")
def score_range(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        for column, message in score_range_problems(m):
            yield Violation("SCORE_RANGE", m.name, Problem("rule.score_range", name=m.name, column=column,
                                                           problem=message))


def band(score: float) -> str:
    """The qd366 level a total score falls in, before the gates."""
    return next(level for level in RATED if score >= BAND_FLOOR[level])


def gate_failure(m: Member, level: str, year: int) -> Problem | None:
    """Why `m`'s task record does not allow `level` under qd366, or None. Late tasks are the
    completed ones not on time; without `tasks_completed` every task counts as completed."""
    total, on_time, exceeded = m.tasks_total or 0, m.tasks_on_time or 0, m.tasks_exceeded or 0
    completed = total if m.tasks_completed is None else m.tasks_completed
    if level == HTXS and total == 0:
        return Problem("gate.no_task")
    if level in (HTXS, HTT) and on_time < total:
        return Problem("gate.on_time", level=level, on_time=on_time, total=total)
    if level == HTXS and 10 * exceeded < 3 * total:
        return Problem("gate.exceeded_share", exceeded=exceeded, total=total)
    if level == HTXS and disciplined_in_year(m, year):
        return Problem("gate.htxs_disciplined")
    if level == HTXS and m.subordinates_disciplined:
        return Problem("gate.htxs_subordinates")
    if level == HTXS and m.shortcomings_fixed is False:
        return Problem("gate.htxs_shortcomings")
    if level == HTXS and m.units_target_met is False:
        return Problem("gate.htxs_units_target")
    if level == HT and completed < total:
        return Problem("gate.ht_completed", completed=completed, total=total)
    if level == HT and 5 * (completed - on_time) > total:
        return Problem("gate.ht_late", late=completed - on_time, total=total)
    return None


def gated_level(m: Member, year: int) -> tuple[str, list[Problem]]:
    """The level `m`'s score and tasks give under qd366, and the gates that lowered it."""
    level, failed = band(m.score or 0), []
    while (why := gate_failure(m, level, year)) is not None:
        failed.append(why)
        if level == KHT:
            break
        level = step_down(level)
    return level, failed


def ceiling(m: Member, ctx: Context) -> tuple[str, list[Problem]]:
    """The highest level `m` may get and why it is not HTXS: the qd366 score and gates where
    given, then the caps (sick leave: HT; a KHT ground: KHT)."""
    level = HTXS
    why: list[Problem] = []
    if ctx.rule_set == "qd366" and _has_scores(m):
        level, why = gated_level(m, ctx.review_year)
        if band(_score(m)) != HTXS:
            why.insert(0, Problem("rule.why_score_band", score=f"{m.score:g}", band=band(_score(m))))
    if m.subordinates_disciplined and level == HTXS:
        level = HTT
        why.append(Problem("rule.why_subordinates"))
    if (m.sick_leave_months or 0) >= SICK_LEAVE_MONTHS and LEVEL_RANK[level] > LEVEL_RANK[HT]:
        level = HT
        why.append(Problem("rule.why_sick_leave", months=f"{m.sick_leave_months:g}"))
    grounds = kht_grounds_of(m, ctx.review_year)
    if grounds:
        level = KHT
        why.extend(Problem("rule.kht_ground_name", name=Phrase(KHT_GROUNDS[g][0])) for g in grounds)
    return level, why


def determined(m: Member, ctx: Context) -> bool:
    """Whether the ceiling is known, not only bounded: a qd366 score, or a KHT ground."""
    return (ctx.rule_set == "qd366" and _has_scores(m)) or bool(kht_grounds_of(m, ctx.review_year))


def _has_scores(m: Member) -> bool:
    return m.score is not None and m.tasks_total is not None and m.tasks_on_time is not None


def _score(m: Member) -> float:
    """The score of a member `_has_scores` accepted."""
    assert m.score is not None, "only for scored members"
    return m.score


def _scored(sheet: Sheet) -> Iterator[Member]:
    """Rated members whose score and task record let the qd366 level be computed."""
    return (m for m in _members(sheet) if m.level in RATED and _has_scores(m))


@_rule("SCORE_MISSING",
       "Under Regulation 366 the scores (score_general, score_tasks) and the task counts "
       "(tasks_total, tasks_on_time) are needed",
       "QĐ 366-QĐ/TW Điều 11 (laodong.vn)")
def score_missing(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        if m.level in RATED and not _has_scores(m):
            yield Violation("SCORE_MISSING", m.name,
                            Problem("rule.score_missing", name=m.name))


@_rule("SCORE_BAND",
       "A level no higher than the score band: HTXS from 90, HTT 70–under 90, HT 50–under 70, KHT "
       "under 50",
       "QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238, laodong.vn)")
def score_band(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _scored(sheet):
        by_score = band(_score(m))
        if LEVEL_RANK[m.level] > LEVEL_RANK[by_score]:
            yield Violation("SCORE_BAND", m.name,
                            Problem("rule.score_band", name=m.name, score=f"{m.score:g}", band=by_score, level=m.level,
                                    top=ceiling(m, ctx)[0]))


@_rule("SCORE_GATE",
       "HTXS: at least 1 task, 100% on time, 30% or more exceeded, no discipline, 100% of "
       "shortcomings fixed, the units in charge on target; HTT: 100% on time; HT: 100% completed, "
       "at most 20% late",
       "QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238, laodong.vn)")
def score_gate(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _scored(sheet):
        gated, failed = gated_level(m, ctx.review_year)
        if LEVEL_RANK[band(_score(m))] >= LEVEL_RANK[m.level] > LEVEL_RANK[gated]:
            yield Violation("SCORE_GATE", m.name,
                            Problem("rule.score_gate", name=m.name, failed=failed, level=m.level, gated=gated))


def _below(m: Member, ctx: Context, who: Problem, member: str | None) -> Iterator[Violation]:
    if m.level not in RATED or not determined(m, ctx):
        return
    top, _why = ceiling(m, ctx)
    if LEVEL_RANK[m.level] < LEVEL_RANK[top] and m.lower_reason is None:
        yield Violation("LOWER_REASON", member,
                        Problem("rule.lower_needs_reason", who=who, top=top, level=m.level))


@_rule("LOWER_REASON",
       "A rating below the highest level the score, conditions and caps allow needs lower_reason "
       "(QUOTA, a KHT ground, or OTHER with lower_reason_text)",
       "[ours] levels are ceilings")
def lower_reason(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    for m in _members(sheet):
        yield from _below(m, ctx, Problem("rule.who_member", name=m.name), m.name)
    record = collective_record(sheet)
    if record is not None:
        yield from _below(record, ctx, Problem("rule.who_collective"), None)


def collective_record(sheet: Sheet) -> Member | None:
    """The collective's own record with its level, when it has both."""
    if sheet.collective is None or sheet.collective_level not in RATED:
        return None
    return replace(sheet.collective, level=sheet.collective_level)


@_rule("COLLECTIVE_CEILING",
       "A collective's level no higher than its own score, conditions and KHT grounds allow "
       "(collective)",
       "QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238, laodong.vn); QĐ 124-QĐ/TW Điều 12 "
       "(xaydungchinhsach.chinhphu.vn)")
def collective_ceiling(sheet: Sheet, ctx: Context) -> Iterator[Violation]:
    record = collective_record(sheet)
    if record is None:
        return
    top, why = ceiling(record, ctx)
    if LEVEL_RANK[record.level] > LEVEL_RANK[top]:
        yield Violation("COLLECTIVE_CEILING", None,
                        Problem("rule.collective_ceiling", level=record.level, top=top, why=why))


@_rule("COLLECTIVE_DISCIPLINE",
       "An HTXS collective: no committee member disciplined in the year; under Regulation 124, HTT "
       "or above: no member disciplined, unless discovered by the organisation itself",
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
                        Problem("rule.collective_discipline", names=", ".join(leaders)))
    others = [m.name for m in members if not m.self_discovered]
    if ctx.rule_set == "qd124" and LEVEL_RANK[level] > LEVEL_RANK[HT] and others:
        yield Violation("COLLECTIVE_DISCIPLINE", None,
                        Problem("rule.collective_discipline_members", level=level, names=", ".join(others)))


_describe("COLLECTIVE_QUOTA",
          "HTXS collectives at most a share (excellent_quota) of the HTT collectives under the same"
          " parent (the cells of a base, the bases of a parent), when the parent enters its "
          "children's levels",
          "QĐ 124-QĐ/TW Điều 12 (lawnet.vn); QĐ 366-QĐ/TW Điều 11 (tintuc.thuvienphapluat.com 100238)")


def collective_quota(levels: dict[str, str | None], records: dict[str, Member], quota: float) -> list[Violation]:
    """The collectives' quota among the units of one parent (cells of a base, bases of a
    parent; QĐ 124 Điều 12: within a group of similar roles): HTXS ≤ floor(q × HTT), and a
    collective's QUOTA ground only when the quota binds. `levels` maps every sibling's code to
    its level, `records` the entered records that may state a `lower_reason`."""
    htxs = sum(level == HTXS for level in levels.values())
    htt = sum(level == HTT for level in levels.values())
    allowed = quota_allowed(htt, quota)
    out: list[Violation] = []
    if htxs > allowed:
        out.append(Violation("COLLECTIVE_QUOTA", None,
                             Problem("rule.collective_quota", htxs=htxs, percent=_percent(quota), htt=htt,
                                     allowed=allowed)))
    for code, record in records.items():
        if record.lower_reason == QUOTA and (levels.get(code) != HTT or not quota_binds(htxs, htt, quota)):
            out.append(Violation("LOWER_QUOTA", code,
                                 Problem("rule.collective_lower_quota", code=code, htxs=htxs, htt=htt,
                                         percent=_percent(quota))))
    return out

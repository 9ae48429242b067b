"""Every classification rule at, just above and just below its limit, under both rule sets."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from kiemdiem.wording import say
from workflow.results import rules
from workflow.results.levels import HT, HTT, HTXS, KHT, NOT_CLASSIFIED, PENDING
from workflow.results.rules import Context, add_months, quota_allowed, tally
from workflow.results.sheet import Counts, Member, Sheet
from workflow.results.validator import RULE_SETS, rule_codes, validate

REVIEW = date(2026, 11, 16)
Q124 = Context("qd124", 0.20, REVIEW)
Q366 = Context("qd366", 0.20, REVIEW)
MORE_THAN = replace(Q124, excellent_vote="more_than_two_thirds")



def scored(name: str = "A", level: str = HT, general: float = 25, tasks: float = 35,
           total: int = 10, on_time: int = 10, exceeded: int = 0, **kw) -> Member:
    return Member(name=name, level=level, score_general=general, score_tasks=tasks,
                  tasks_total=total, tasks_on_time=on_time, tasks_exceeded=exceeded, **kw)


def sheet_of(*members: Member, collective: str | None = None, founded: date | None = None) -> Sheet:
    return Sheet(tally(members, REVIEW), members, collective, founded)


def codes(sheet: Sheet, ctx: Context = Q124) -> list[str]:
    return [v.code for v in validate(sheet, ctx)]


def counts_sheet(collective: str | None = None, **by_level: int) -> Sheet:
    return Sheet(Counts(by_level), None, collective)


@pytest.mark.parametrize(("htxs", "htt", "quota", "ok"), [
    (3, 15, 0.20, True),    # floor(0.20 × 15) = 3
    (4, 15, 0.20, False),
    (2, 15, 0.15, True),    # floor(0.15 × 15) = 2 (seed 001's local plan)
    (3, 15, 0.15, False),
    (3, 20, 0.15, True),    # exactly 15% of 20
    (4, 16, 0.25, True),
    (5, 16, 0.25, False),
    (0, 0, 0.20, True),
    (1, 4, 0.20, False),    # floor(0.8) = 0
    (29, 100, 0.29, True),  # 0.29 × 100 in floats is 28.999…: the quota is exact
])
def test_quota_excellent(htxs, htt, quota, ok):
    ctx = Context("qd124", quota, REVIEW)
    found = list(rules.quota_excellent(counts_sheet(HTXS=htxs, HTT=htt), ctx))
    assert (not found) is ok


def test_quota_message_names_the_numbers():
    [v] = rules.quota_excellent(counts_sheet(HTXS=4, HTT=15), Q124)
    assert say(v.message) == "Số đảng viên HTXS (4) vượt 20% số HTT (15) của chi bộ: tối đa 3"
    [v] = rules.quota_excellent(counts_sheet(HTXS=3, HTT=15), replace(Q124, excellent_quota=0.15))
    assert "vượt 15% số HTT (15) của chi bộ: tối đa 2" in say(v.message)


def test_quota_allowed_is_exact():
    assert quota_allowed(15, 0.2) == 3 and quota_allowed(100, 0.29) == 29 and quota_allowed(7, 0.15) == 1


@pytest.mark.parametrize(("level", "votes", "voting", "ok"), [
    (HTXS, 10, 15, False),  # exactly 2/3 is not more than 2/3
    (HTXS, 11, 15, True),
    (HTXS, 9, 15, False),
    (HTXS, 7, 10, True),    # 2/3 of 10 = 6.67
    (HTXS, 6, 10, False),
    (HTT, 5, 10, False),    # exactly 1/2 is not enough
    (HTT, 6, 10, True),
    (HT, 4, 10, False),
    (HT, 4, 7, True),       # 1/2 of 7 = 3.5
    (HT, 3, 7, False),
    (KHT, 5, 10, False),
    (KHT, 6, 10, True),
    (HT, 0, 0, False),
])
def test_vote_threshold(level, votes, voting, ok):
    member = Member("A", level, votes_for=votes, full_members_voting=voting)
    assert (not list(rules.vote_threshold(sheet_of(member), MORE_THAN))) is ok


@pytest.mark.parametrize(("votes", "voting", "ok"), [
    (10, 15, True),   # exactly 2/3: "2/3 trở lên" (the default)
    (9, 15, False),
    (7, 10, True),    # 6.67 rounds up to 7
    (6, 10, False),
    (2, 3, True), (1, 3, False),
])
def test_vote_threshold_at_least_two_thirds(votes, voting, ok):
    for ctx in (Q124, Q366):
        member = Member("A", HTXS, votes_for=votes, full_members_voting=voting)
        assert (not list(rules.vote_threshold(sheet_of(member), ctx))) is ok


def test_vote_message_and_disciplined_kht_needs_no_vote():
    [v] = rules.vote_threshold(sheet_of(Member("Lan", HTXS, votes_for=10, full_members_voting=15)), MORE_THAN)
    assert v.member == "Lan" and "(10/15, cần ít nhất 11)" in say(v.message) and "trên 2/3" in say(v.message)
    [v] = rules.vote_threshold(sheet_of(Member("Lan", HTXS, votes_for=9, full_members_voting=15)), Q124)
    assert "từ 2/3 trở lên" in say(v.message) and "cần ít nhất 10" in say(v.message)
    assert not list(rules.vote_threshold(
        sheet_of(Member("B", KHT, votes_for=0, full_members_voting=9, disciplined=True)), Q124))


@pytest.mark.parametrize(("head", "collective", "ok"), [
    (HTT, HTT, True), (HTXS, HTT, False), (HT, HTT, True), (HTXS, HTXS, True), (HT, KHT, False),
    (HTXS, None, True),  # the collective's level may come later from the parent
])
def test_head_above_collective(head, collective, ok):
    sheet = sheet_of(Member("Head", head, is_head=True), Member("B", HTXS), collective=collective)
    assert (not list(rules.head_above_collective(sheet, Q124))) is ok


@pytest.mark.parametrize(("admitted", "level", "ok"), [
    (date(2026, 5, 16), HT, True),              # exactly 6 months before the review
    (date(2026, 5, 17), HT, False),             # one day short
    (date(2026, 5, 15), HT, True),
    (date(2026, 5, 17), NOT_CLASSIFIED, True),
    (None, HT, True),
])
def test_new_member_not_classified(admitted, level, ok):
    sheet = sheet_of(Member("A", level, admitted_on=admitted))
    assert (not list(rules.new_member_not_classified(sheet, Q124))) is ok


def test_not_classified_needs_a_reason():
    assert codes(sheet_of(Member("A", NOT_CLASSIFIED))) == ["NOT_CLASSIFIED_REASON"]
    assert codes(sheet_of(Member("A", NOT_CLASSIFIED, admitted_on=date(2026, 9, 1)))) == []
    assert codes(sheet_of(Member("A", NOT_CLASSIFIED, exempt=True))) == []


@pytest.mark.parametrize(("founded", "collective", "ok"), [
    (date(2026, 5, 16), HTT, True), (date(2026, 5, 17), HTT, False),
    (date(2026, 5, 17), NOT_CLASSIFIED, True), (None, HTT, True),
])
def test_new_organisation_not_classified(founded, collective, ok):
    sheet = sheet_of(Member("A", HT), collective=collective, founded=founded)
    assert (not list(rules.new_organisation_not_classified(sheet, Q124))) is ok


@pytest.mark.parametrize(("flags", "level", "ok"), [
    ({"exempt": True}, NOT_CLASSIFIED, True), ({"exempt": True}, HT, False),
    ({"suspended": True}, NOT_CLASSIFIED, True), ({"suspended": True}, KHT, False),
    ({"suspended": True}, PENDING, False),
])
def test_not_reviewed(flags, level, ok):
    assert (not list(rules.not_reviewed(sheet_of(Member("A", level, **flags)), Q124))) is ok


@pytest.mark.parametrize(("months", "level", "ok"), [
    (2.9, HTT, True), (3, HTT, False), (3, HT, True), (3.1, HTXS, False), (12, KHT, True), (None, HTXS, True),
])
def test_sick_leave_cap(months, level, ok):
    sheet = sheet_of(Member("A", level, sick_leave_months=months))
    assert (not list(rules.sick_leave_cap(sheet, Q124))) is ok


def test_maternity_leave_has_no_cap():
    member = Member("A", HTXS, maternity_leave=True, votes_for=9, full_members_voting=10)
    assert codes(sheet_of(member, Member("B", HTT), Member("C", HTT), Member("D", HTT), Member("E", HTT),
                          Member("F", HTT))) == []


@pytest.mark.parametrize(("disciplined", "level", "ok"), [
    (True, KHT, True), (True, HT, False), (False, HT, True), (True, NOT_CLASSIFIED, True),
])
def test_discipline_kht(disciplined, level, ok):
    sheet = sheet_of(Member("A", level, disciplined=disciplined, exempt=level == NOT_CLASSIFIED))
    assert (not list(rules.discipline_kht(sheet, Q124))) is ok


@pytest.mark.parametrize(("absent", "level", "ok"), [
    (True, PENDING, True), (True, HT, False), (False, PENDING, False), (False, HT, True),
])
def test_absent_pending(absent, level, ok):
    assert (not list(rules.absent_pending(sheet_of(Member("A", level, absent=absent)), Q124))) is ok


@pytest.mark.parametrize(("collective", "levels", "ok"), [
    (HTXS, {HT: 5}, True),
    (HTXS, {HT: 5, KHT: 1}, False),           # every member must be HT or better
    (HTT, {HT: 2, KHT: 2}, True),              # exactly half KHT: not "more than half"
    (HTT, {HT: 2, KHT: 3}, False),
    (KHT, {HT: 2, KHT: 3}, True),
    (HT, {HT: 3, KHT: 2, PENDING: 1}, True),  # pending members are not rated yet
    (None, {KHT: 5}, True),
])
def test_cell_level(collective, levels, ok):
    assert (not list(rules.cell_level(counts_sheet(collective, **levels), Q124))) is ok


@pytest.mark.parametrize(("score", "level"), [
    (100, HTXS), (90, HTXS), (89.5, HTT), (70, HTT), (69.9, HT), (50, HT), (49.9, KHT), (0, KHT),
])
def test_score_bands(score, level):
    assert rules.band(score) == level


@pytest.mark.parametrize(("member", "expected"), [
    (scored(general=30, tasks=60, exceeded=3), HTXS),           # 90, 30% exceeding
    (scored(general=30, tasks=60, exceeded=2), HTT),            # 20% exceeding: drops
    (scored(general=30, tasks=65, on_time=9, exceeded=5), HT),  # one late: not HTXS, not HTT
    (scored(general=20, tasks=55, on_time=8), HT),              # 75 with 20% late: HT
    (scored(general=20, tasks=55, on_time=7), KHT),             # 30% late: below HT's gate
    (scored(general=20, tasks=35, on_time=8), HT),              # 55, 20% late allowed
    (scored(general=20, tasks=35, on_time=7), KHT),
    (scored(general=30, tasks=70, exceeded=10, disciplined=True), HTT),
    (scored(general=10, tasks=30), KHT),
])
def test_gated_level(member, expected):
    assert rules.gated_level(member, 2026)[0] == expected


@pytest.mark.parametrize(("member", "found"), [
    (scored(level=HTXS, general=30, tasks=60, exceeded=3), []),
    (scored(level=HTXS, general=30, tasks=59.5, exceeded=3), ["SCORE_BAND"]),
    (scored(level=HTXS, general=30, tasks=60, exceeded=2), ["SCORE_GATE"]),
    (scored(level=HTT, general=30, tasks=60, exceeded=2), []),
    (scored(level=HT, general=30, tasks=60, exceeded=2), ["LOWER_REASON"]),   # lower, no ground
    (scored(level=HTT, general=20, tasks=55, on_time=9), ["SCORE_GATE"]),
    (scored(level=HT, general=30, tasks=60, exceeded=3, sick_leave_months=4), []),  # capped
    (scored(level=HTT, general=30, tasks=60, exceeded=3, sick_leave_months=4), ["SICK_LEAVE_CAP"]),
    (scored(level=HT, general=31, tasks=30), ["SCORE_RANGE"]),
    (scored(level=HT, general=20, tasks=70.5), ["SCORE_RANGE", "LOWER_REASON"]),
    (Member("A", HT), ["SCORE_MISSING"]),
    (Member("A", PENDING, absent=True), []),
])
def test_qd366_scores(member, found):
    assert [c for c in codes(sheet_of(member), Q366) if c != "QUOTA_EXCELLENT"] == found


def test_score_mismatch_names_both_levels():
    [v] = rules.score_gate(sheet_of(scored("Hà", level=HTXS, general=30, tasks=60, exceeded=2)), Q366)
    assert v.code == "SCORE_GATE" and "nhập: HTXS" in say(v.message) and "HTT" in say(v.message)
    assert "30%" in say(v.message) and "(2/10)" in say(v.message)


def test_rule_sets_differ_only_by_the_score_rules():
    assert set(rule_codes("qd366")) - set(rule_codes("qd124")) == {
        "SCORE_RANGE", "SCORE_MISSING", "SCORE_BAND", "SCORE_GATE"}
    assert codes(sheet_of(Member("A", HT)), Q124) == []
    with pytest.raises(ValueError, match="unknown rule set"):
        validate(sheet_of(), Context("qd999", 0.2, REVIEW))
    assert set(RULE_SETS) == {"qd124", "qd366"}


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2025, 12, 15), 6) == date(2026, 6, 15)


def test_a_valid_cell_passes_every_rule():
    members = (Member("Head", HTT, is_head=True, votes_for=9, full_members_voting=10),
               *(Member(f"M{i}", HTT, votes_for=6, full_members_voting=10) for i in range(4)),
               Member("X", HTXS, votes_for=7, full_members_voting=10),
               Member("New", NOT_CLASSIFIED, admitted_on=date(2026, 9, 2)),
               Member("Away", PENDING, absent=True))
    sheet = sheet_of(*members, collective=HTT)
    assert validate(sheet, Q124) == []
    assert sheet.counts.reasons == {"new_member": 1} and sheet.counts.rated == 6

"""Levels as ceilings, KHT grounds, settings, collectives and plausibility: each rule just
inside and just outside its limit, under both rule sets."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from workflow.results.levels import HT, HTT, HTXS, KHT
from workflow.results.rules import Context, collective_quota, tally
from workflow.results.settings import DEFAULTS, settings_for
from workflow.results.sheet import Member, Sheet
from workflow.results.validator import RULE_SETS, WARNINGS, rule_table, validate, warnings

REVIEW = date(2026, 11, 16)
Q124 = Context("qd124", 0.20, REVIEW, year=2026)
Q366 = Context("qd366", 0.20, REVIEW, year=2026)
BOTH = pytest.mark.parametrize("ctx", [Q124, Q366], ids=["qd124", "qd366"])


def top(name: str, level: str = HTXS, **kw) -> Member:
    """A member at 92 points with every gate met: HTXS is the ceiling."""
    values = {"score_general": 30, "score_tasks": 62, "tasks_total": 10, "tasks_on_time": 10,
              "tasks_exceeded": 4, "votes_for": 6, "full_members_voting": 6, **kw}
    return Member(name, level, **values)


def htt(name: str, **kw) -> Member:
    """A member at 80 points, every task on time: HTT is the ceiling."""
    return top(name, HTT, score_tasks=50, **kw)


def sheet_of(*members: Member, collective: str | None = None, record: Member | None = None) -> Sheet:
    return Sheet(tally(members, REVIEW), members, collective, None, record)


def codes(sheet: Sheet, ctx: Context) -> list[str]:
    return [v.code for v in validate(sheet, ctx)]


# --- the six members at 92 points (the case) ---------------------------------------------

@BOTH
def test_six_at_92_one_htxs_five_htt_for_the_quota_is_valid(ctx):
    sheet = sheet_of(top("A"), *(top(f"M{i}", HTT, lower_reason="QUOTA") for i in range(5)))
    assert codes(sheet, ctx) == []
    assert sheet.counts.lowered == {"quota": 5}


def test_six_at_92_lowered_without_a_ground_is_refused_under_366_only():
    sheet = sheet_of(top("A"), *(top(f"M{i}", HTT) for i in range(5)))
    assert codes(sheet, Q366) == ["LOWER_REASON"] * 5
    assert codes(sheet, Q124) == []  # no score under 124: the ceiling is not known


@BOTH
def test_six_at_92_all_htxs_breaks_the_quota(ctx):
    assert codes(sheet_of(*(top(f"M{i}") for i in range(6))), ctx) == ["QUOTA_EXCELLENT"]


@BOTH
def test_quota_ground_only_when_the_quota_binds(ctx):
    # no HTXS at all: promoting one of six HTT keeps 1 ≤ floor(0.2 × 5): the quota does not bind
    free = sheet_of(*(top(f"M{i}", HTT, lower_reason="QUOTA") for i in range(6)))
    assert codes(free, ctx) == ["LOWER_QUOTA"] * 6
    # a QUOTA ground for an HT: the quota never lowers below HTT
    ht = sheet_of(top("A"), *(top(f"M{i}", HTT, lower_reason="QUOTA") for i in range(4)),
                  top("B", HT, lower_reason="QUOTA"))
    assert "LOWER_QUOTA" in codes(ht, ctx)


def test_quota_ground_for_a_member_whose_ceiling_is_htt_is_refused():
    below = top("B", HTT, lower_reason="QUOTA", tasks_exceeded=2)  # 20% exceeded: ceiling HTT
    sheet = sheet_of(top("A"), *(top(f"M{i}", HTT, lower_reason="QUOTA") for i in range(4)), below)
    assert codes(sheet, Q366) == ["LOWER_QUOTA"]


@BOTH
def test_other_reason_is_accepted_and_counted(ctx):
    sheet = sheet_of(top("A", HT, lower_reason="OTHER", lower_reason_text="chi bộ quyết định"),
                     top("B", HTT, lower_reason="OTHER", lower_reason_text="x"), top("C", HTT),
                     top("D", HTT), top("E", HTT), top("F", HTT))
    found = codes(sheet, ctx)
    assert found == ([] if ctx is Q124 else ["LOWER_REASON"] * 4)
    assert sheet.counts.lowered == {"other": 2}


def test_sick_leave_member_rated_kht_needs_a_ground_under_366():
    sick = top("S", KHT, sick_leave_months=3, score_general=25, score_tasks=55)
    others = [top(f"M{i}", HTT, score_general=25, score_tasks=55) for i in range(3)]
    assert codes(sheet_of(sick, *others), Q366) == ["LOWER_REASON"]
    assert codes(sheet_of(replace(sick, level=HT), *others), Q366) == []
    assert codes(sheet_of(replace(sick, kht_grounds="DEGRADATION"), *others), Q366) == []


# --- discipline and the KHT grounds --------------------------------------------------------------

@BOTH
@pytest.mark.parametrize(("on", "self_found", "kht"), [
    (date(2026, 1, 1), False, True),     # first day of the review year
    (date(2025, 12, 31), False, False),  # last year's: counted then, once
    (date(2026, 11, 1), True, False),    # the organisation found it itself
])
def test_discipline_in_the_review_year(ctx, on, self_found, kht):
    m = htt("K", disciplined_on=on, self_discovered=self_found)
    assert ("DISCIPLINE_KHT" in codes(sheet_of(m, htt("A"), htt("B")), ctx)) is kht
    # KHT for a discipline needs no vote; KHT otherwise needs more than half
    kht_no_votes = codes(sheet_of(replace(m, level=KHT, votes_for=0), htt("A"), htt("B")), ctx)
    assert ("VOTE_THRESHOLD" not in kht_no_votes) is kht


@BOTH
@pytest.mark.parametrize(("ground", "level", "ok"), [
    ("DEGRADATION", HT, False), ("DEGRADATION", KHT, True), ("forbidden_acts; civil_service_kht", HTT, False),
])
def test_kht_grounds_make_kht_the_ceiling(ctx, ground, level, ok):
    m = top("G", level, kht_grounds=";".join(c.strip().upper() for c in ground.split(";")), votes_for=4)
    found = codes(sheet_of(m, htt("A"), htt("B")), ctx)
    assert ("KHT_GROUND" not in found) is ok and "LOWER_REASON" not in found


@BOTH
@pytest.mark.parametrize(("completed", "under_half"), [(4, True), (5, False)])
def test_under_half_of_tasks_completed_is_a_kht_ground(ctx, completed, under_half):
    m = Member("T", HT, score_general=25, score_tasks=30, tasks_total=10, tasks_on_time=completed,
               tasks_completed=completed)
    assert ("KHT_GROUND" in codes(sheet_of(m), ctx)) is under_half


# --- tasks under 366 -----------------------------------------------------------------------------

@pytest.mark.parametrize(("completed", "on_time", "ok"), [
    (10, 8, True),    # all done, 20% late
    (10, 7, False),   # 30% late
    (9, 9, False),    # one never done: HT needs 100% completed
])
def test_ht_needs_every_task_completed(completed, on_time, ok):
    m = Member("H", HT, score_general=20, score_tasks=40, tasks_total=10, tasks_on_time=on_time,
               tasks_completed=completed)
    assert (codes(sheet_of(m), Q366) == []) is ok
    assert codes(sheet_of(m), Q124) == []


@pytest.mark.parametrize(("changes", "ok"), [
    ({}, True),
    ({"tasks_total": 0, "tasks_on_time": 0, "tasks_exceeded": 0}, False),  # HTXS with no task
    ({"shortcomings_fixed": False}, False),
    ({"shortcomings_fixed": True}, True),
    ({"units_target_met": False, "is_head": True}, False),
    ({"units_target_met": True, "is_head": True}, True),
])
def test_htxs_extra_conditions(changes, ok):
    sheet = sheet_of(top("X", **changes), *(top(f"M{i}", HTT, lower_reason="QUOTA") for i in range(5)))
    assert ("SCORE_GATE" not in codes(sheet, Q366)) is ok
    assert "SCORE_GATE" not in codes(sheet, Q124)


# --- votes and the voting base -------------------------------------------------------------------

@BOTH
@pytest.mark.parametrize(("voting", "ok"), [(4, True), (3, False)])
def test_voting_base_is_not_smaller_than_the_full_members_present(ctx, voting, ok):
    members = [Member(f"M{i}", HT, votes_for=3, full_members_voting=voting, score_general=20, score_tasks=35,
                      tasks_total=1, tasks_on_time=1) for i in range(4)]
    members += [Member("Dự bị", HT, probationary=True, score_general=20, score_tasks=35, tasks_total=1,
                       tasks_on_time=1), Member("Vắng", "PENDING", absent=True)]
    assert ("VOTE_BASE" not in codes(sheet_of(*members), ctx)) is ok


def test_vote_setting_defaults_are_sourced_and_overridable():
    assert settings_for("qd366", None) == DEFAULTS["qd366"] == {"quota_scope": "base",
                                                               "excellent_vote": "at_least_two_thirds"}
    assert settings_for("qd124", {"excellent_vote": "more_than_two_thirds"})["excellent_vote"] \
        == "more_than_two_thirds"


# --- the quota's scope ---------------------------------------------------------------------------

@BOTH
@pytest.mark.parametrize(("scope", "peers", "ok"), [
    ("base", (0, 1), True),    # 1 HTXS, 5 HTT in the base: floor(1.0) = 1
    ("base", (0, 0), False),   # the base has only this cell's 4 HTT
    ("base", (1, 6), True),    # 2 HTXS against 10 HTT: floor(2.0) = 2
    ("base", (2, 6), False),   # 3 HTXS against 10 HTT
    ("cell", (0, 1), False),   # per cell: 4 HTT allow none
])
def test_quota_scope(ctx, scope, peers, ok):
    sheet = sheet_of(top("X"), *(top(f"M{i}", HTT, lower_reason="QUOTA") for i in range(4)))
    found = codes(sheet, replace(ctx, quota_scope=scope, peers=peers))
    assert ("QUOTA_EXCELLENT" not in found) is ok


# --- plausibility --------------------------------------------------------------------------------

@BOTH
def test_two_heads_are_refused(ctx):
    one = sheet_of(top("A", HTT, is_head=True), htt("B"), htt("C"))
    assert "TWO_HEADS" not in codes(one, ctx)
    two = sheet_of(top("A", HTT, is_head=True), top("B", HTT, is_head=True), htt("C"))
    assert "TWO_HEADS" in codes(two, ctx)


@BOTH
def test_fewer_than_three_full_members_is_a_warning_not_a_refusal(ctx):
    three = sheet_of(htt("A"), htt("B"), htt("C"))
    assert warnings(three, ctx) == []
    two = sheet_of(top("A", HTT, full_members_voting=2), top("B", HTT, full_members_voting=2),
                   top("C", HTT, probationary=True, full_members_voting=2))
    assert [w.code for w in warnings(two, ctx)] == ["FEW_FULL_MEMBERS"]
    assert "FEW_FULL_MEMBERS" not in codes(two, ctx)


# --- collectives ---------------------------------------------------------------------------------

def test_collective_score_is_a_ceiling_under_366():
    members = (htt("A"), htt("B"), htt("C"))
    record = Member("GL-TS-T1", "", score_general=30, score_tasks=59, tasks_total=5, tasks_on_time=5,
                    tasks_exceeded=2)
    assert codes(sheet_of(*members, collective=HTXS, record=record), Q366) == ["COLLECTIVE_CEILING"]
    assert codes(sheet_of(*members, collective=HTT, record=record), Q366) == []
    at_90 = replace(record, score_tasks=60)
    assert codes(sheet_of(*members, collective=HTXS, record=at_90), Q366) == []
    assert codes(sheet_of(*members, collective=HTT, record=at_90), Q366) == ["LOWER_REASON"]
    assert codes(sheet_of(*members, collective=HTXS, record=record), Q124) == []  # no score in 124


@BOTH
def test_collective_discipline_and_subordinates(ctx):
    members = (htt("A"), htt("B"), htt("C"))
    hit = Member("U", "", disciplined_on=date(2026, 3, 1))
    assert codes(sheet_of(*members, collective=HTT, record=hit), ctx) == ["COLLECTIVE_CEILING"]
    assert codes(sheet_of(*members, collective=KHT, record=hit), ctx) == []
    subs = Member("U", "", subordinates_disciplined=True)
    assert codes(sheet_of(*members, collective=HTXS, record=subs), ctx) == ["COLLECTIVE_CEILING"]
    assert codes(sheet_of(*members, collective=HTT, record=subs), ctx) == []


@BOTH
def test_a_disciplined_leader_keeps_the_cell_from_htxs(ctx):
    head = top("Head", KHT, is_head=True, disciplined_on=date(2026, 5, 1), votes_for=0)
    others = [htt(f"M{i}") for i in range(3)]
    assert "COLLECTIVE_DISCIPLINE" in codes(sheet_of(head, *others, collective=HTXS), ctx)
    found = codes(sheet_of(replace(head, level=KHT), *others, collective=HT), ctx)
    assert "COLLECTIVE_DISCIPLINE" not in found


@pytest.mark.parametrize(("self_found", "level", "ok"), [
    (False, HTT, False), (False, HT, True), (True, HTT, True),
])
def test_under_124_a_disciplined_member_keeps_the_cell_below_htt(self_found, level, ok):
    member = top("K", KHT, disciplined_on=date(2026, 5, 1), self_discovered=self_found, votes_for=4,
                 kht_grounds="DEGRADATION" if self_found else None)
    sheet = sheet_of(member, htt("A"), htt("B"), htt("C"), collective=level)
    assert ("COLLECTIVE_DISCIPLINE" not in codes(sheet, Q124)) is ok
    assert "COLLECTIVE_DISCIPLINE" not in codes(sheet, Q366)  # 366 sets no such condition for HTT


@pytest.mark.parametrize(("levels", "ok"), [
    ({"A": HTXS, "B": HTT, "C": HTT, "D": HTT, "E": HTT, "F": HTT}, True),   # 1 ≤ floor(0.2 × 5)
    ({"A": HTXS, "B": HTT, "C": HTT, "D": HTT, "E": HTT, "F": HT}, False),   # 1 > floor(0.8)
    ({code: HTXS for code in "ABCDE"}, False),                               # five cells all HTXS
    ({"A": HTXS, "B": None}, False),
])
def test_collective_quota(levels, ok):
    assert (collective_quota(levels, {}, 0.20) == []) is ok


def test_collective_quota_ground_only_when_it_binds():
    levels = {"A": HTXS, **{c: HTT for c in "BCDEF"}}
    assert collective_quota(levels, {"B": Member("B", HTT, lower_reason="QUOTA")}, 0.20) == []
    loose = {c: HTT for c in "BCDEFG"}  # promoting B: 1 ≤ floor(0.2 × 5), the quota does not bind
    [v] = collective_quota(loose, {"B": Member("B", HTT, lower_reason="QUOTA")}, 0.20)
    assert v.code == "LOWER_QUOTA" and v.member == "B"


# --- the table -----------------------------------------------------------------------------------

def test_every_rule_has_one_row_with_a_vietnamese_rule_and_a_source():
    checked = {rule.code for chosen in RULE_SETS.values() for rule in chosen} | {r.code for r in WARNINGS}
    table = rule_table()
    assert {row["code"] for row in table} == checked | {"COLLECTIVE_QUOTA"}
    assert len(table) == len({row["code"] for row in table})
    assert all(row["message"] and row["source"] for row in table)
    assert all("seed" not in row["source"] for row in table)
    assert {row["code"]: row["rule_sets"] for row in table}["SCORE_GATE"] == "qd366"

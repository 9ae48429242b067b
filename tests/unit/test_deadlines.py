"""Deadline arithmetic with plain datetimes: reminders, lateness, repeats, escalation, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.plan import PlanDate, QuietHours, load_plan
from schedules.deadlines import (
    DAY,
    Owed,
    Policy,
    escalation_at,
    escalation_owed,
    late_at,
    milestone_instants,
    notice_windows,
    owed_notice,
    send_time,
)
from workflow.clock import days_late

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PLAN = load_plan(Path(__file__).parents[2] / "config" / "plans" / "2026.yaml")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HCM)


# "trước ngày 20/11/2026": due at 20/11 00:00 local = 19/11 17:00 UTC
BEFORE_20 = PlanDate(before="2026-11-20").due_at(HCM)
# "hoàn thành ngày 16/11/2026": due at the end of 16/11 = 17/11 00:00 local
BY_16 = PlanDate(by="2026-11-16").due_at(HCM)
POLICY = Policy()  # 7/3/1 days before, repeat every 2 days, escalate after 3


def test_before_and_by_resolve_to_local_midnights():
    assert BEFORE_20 == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
    assert BY_16 == local(2026, 11, 17)


@pytest.mark.parametrize(("now", "expected"), [
    (local(2026, 11, 12, 23, 59), None),
    (local(2026, 11, 13), Owed("reminder", 7, local(2026, 11, 13))),
    (local(2026, 11, 16, 23, 59), Owed("reminder", 7, local(2026, 11, 13))),
    (local(2026, 11, 17), Owed("reminder", 3, local(2026, 11, 17))),
    (local(2026, 11, 19), Owed("reminder", 1, local(2026, 11, 19))),
    (local(2026, 11, 19, 23, 59, 59), Owed("reminder", 1, local(2026, 11, 19))),
    (local(2026, 11, 20), Owed("late", 0, local(2026, 11, 20))),
    (local(2026, 11, 21, 23), Owed("late", 0, local(2026, 11, 20))),
    (local(2026, 11, 22), Owed("repeat", 1, local(2026, 11, 22))),
    (local(2026, 11, 24), Owed("repeat", 2, local(2026, 11, 24))),
    (local(2026, 12, 30, 8), Owed("repeat", 20, local(2026, 12, 30))),
])
def test_the_one_notice_owed_at_each_instant_of_a_before_deadline(now, expected):
    assert owed_notice(BEFORE_20, POLICY, "cell", now) == expected


def test_a_by_deadline_is_still_met_during_its_day():
    assert owed_notice(BY_16, POLICY, "cell", local(2026, 11, 16, 23, 59)) == \
        Owed("reminder", 1, local(2026, 11, 16))
    assert owed_notice(BY_16, POLICY, "cell", local(2026, 11, 17)).kind == "late"


def test_a_missed_reminder_is_not_sent_after_a_closer_one_falls_due():
    # the service was down from 12/11 to 18/11: only the 3-day reminder is owed now
    assert owed_notice(BEFORE_20, POLICY, "cell", local(2026, 11, 18, 9)).occurrence == 3


def test_the_notice_windows_never_overlap():
    now = local(2026, 12, 1, 10)
    windows = notice_windows(POLICY, "cell", now, earliest_deadline=local(2026, 10, 1))
    for hour in range(0, 24 * 70):
        deadline = local(2026, 10, 1) + timedelta(hours=hour)
        assert sum(w.holds(deadline) for w in windows) <= 1


def test_grace_delays_lateness_per_level_but_not_days_late():
    policy = Policy(grace_days={"base": 2})
    due = local(2026, 12, 5)
    assert late_at(due, policy, "base") == local(2026, 12, 7)
    assert owed_notice(due, policy, "base", local(2026, 12, 6, 12)) is None  # in grace
    assert owed_notice(due, policy, "base", local(2026, 12, 7)) == Owed("late", 0, local(2026, 12, 7))
    assert owed_notice(due, policy, "cell", local(2026, 12, 5)).kind == "late"
    assert days_late(due, local(2026, 12, 7, 8)) == 2


@pytest.mark.parametrize(("now", "expected"), [
    (local(2026, 11, 19, 23), None),
    (local(2026, 11, 20), 0),
    (local(2026, 11, 30, 8), 10),  # 10 days and 8 hours: 10
    (local(2026, 11, 30, 23, 59), 10),
    (local(2026, 12, 1), 11),
])
def test_days_late_counts_whole_days_since_the_instant(now, expected):
    assert days_late(BEFORE_20, now) == expected


def test_backoff_stretches_repeat_intervals_rounded_up_to_days():
    policy = Policy(repeat_every_days=2, backoff=1.5)  # intervals 2, 3, 4.5→5, 6.75→7, 10.1→11
    assert policy.repeat_offsets(30 * DAY)[:5] == [2 * DAY, 5 * DAY, 10 * DAY, 17 * DAY, 28 * DAY]
    due = local(2026, 11, 20)
    assert owed_notice(due, policy, "cell", local(2026, 11, 29)) == Owed("repeat", 2, local(2026, 11, 25))
    assert owed_notice(due, policy, "cell", local(2026, 11, 30)) == Owed("repeat", 3, local(2026, 11, 30))


def test_max_repeats_keeps_the_last_window_open():
    policy = Policy(repeat_every_days=2, max_repeats=2)
    due = local(2026, 11, 20)
    assert policy.repeat_offsets(100 * DAY) == [2 * DAY, 4 * DAY]
    assert owed_notice(due, policy, "cell", local(2027, 1, 20)) == Owed("repeat", 2, local(2026, 11, 24))
    assert owed_notice(due, Policy(max_repeats=0), "cell", local(2027, 1, 20)).kind == "late"


def test_escalation_follows_lateness_by_the_set_days():
    policy = Policy(escalate_after_days=3, grace_days={"cell": 1})
    due = local(2026, 11, 20)
    assert escalation_at(due, policy, "cell") == local(2026, 11, 24)
    assert not escalation_owed(due, policy, "cell", local(2026, 11, 23, 23, 59))
    assert escalation_owed(due, policy, "cell", local(2026, 11, 24))


def test_a_province_deadline_in_january_crosses_the_year():
    due = next(m.due_at for m in PLAN.milestones() if m.level == "province")
    assert due == local(2027, 1, 20)
    policy = Policy.from_plan(PLAN)
    assert owed_notice(due, policy, "province", local(2026, 12, 31, 12)) is None
    assert owed_notice(due, policy, "province", local(2027, 1, 13)) == Owed("reminder", 7, local(2027, 1, 13))
    assert owed_notice(due, policy, "province", local(2027, 1, 22, 7)) == \
        Owed("repeat", 1, local(2027, 1, 22))
    assert days_late(due, local(2027, 2, 1)) == 12


def test_an_extension_is_just_another_deadline():
    extended = PlanDate(before="2026-11-27").due_at(HCM)
    now = local(2026, 11, 21)
    assert owed_notice(BEFORE_20, POLICY, "cell", now).kind == "late"
    assert owed_notice(extended, POLICY, "cell", now) == Owed("reminder", 7, local(2026, 11, 20))


def test_a_holiday_shift_moves_every_instant_with_the_deadline():
    shifting = PLAN.holidays.model_copy(update={"shift_to_working_day": True})
    plan = PLAN.model_copy(update={"holidays": shifting})
    due = {(m.level, m.stage): m.due_at for m in plan.milestones()}
    # 20/11/2026 is a Friday (kept); 01/12/2026 a Tuesday (kept); 20/12/2026 a Sunday -> Monday
    assert due["cell", "forms_submitted"] == local(2026, 11, 20)
    assert due["district", "forms_submitted"] == local(2026, 12, 21)
    assert owed_notice(due["district", "forms_submitted"], POLICY, "district",
                       local(2026, 12, 20, 12)) == Owed("reminder", 1, local(2026, 12, 20))


def test_milestone_instants():
    assert milestone_instants(BEFORE_20, POLICY, "cell") == [
        local(2026, 11, 13), local(2026, 11, 17), local(2026, 11, 19), local(2026, 11, 20),
        local(2026, 11, 23)]


QUIET = Policy(quiet_hours=QuietHours(start=time(21), end=time(7), exempt_channels=("email",)))


@pytest.mark.parametrize(("at", "channel", "expected"), [
    (local(2026, 11, 20, 20, 59), "zalo_zns", local(2026, 11, 20, 20, 59)),
    (local(2026, 11, 20, 21, 0), "zalo_zns", local(2026, 11, 21, 7)),
    (local(2026, 11, 20, 23, 30), "file", local(2026, 11, 21, 7)),
    (local(2026, 11, 21, 0, 0), "zalo_oa", local(2026, 11, 21, 7)),
    (local(2026, 11, 21, 6, 59), "webhook", local(2026, 11, 21, 7)),
    (local(2026, 11, 21, 7, 0), "webhook", local(2026, 11, 21, 7)),
    (local(2026, 12, 31, 22), "zalo_zns", local(2027, 1, 1, 7)),
    (local(2026, 11, 21, 0, 0), "email", local(2026, 11, 21, 0, 0)),
])
def test_quiet_hours_cross_midnight_and_spare_exempt_channels(at, channel, expected):
    result = send_time(at.astimezone(UTC), QUIET, channel)
    assert result == expected and result.tzinfo is not None


def test_a_daytime_quiet_window_and_none():
    lunch = Policy(quiet_hours=QuietHours(start=time(11, 30), end=time(13, 30)))
    assert send_time(local(2026, 11, 20, 12), lunch, "file") == local(2026, 11, 20, 13, 30)
    assert send_time(local(2026, 11, 20, 14), lunch, "file") == local(2026, 11, 20, 14)
    assert send_time(local(2026, 11, 20, 23), POLICY, "file") == local(2026, 11, 20, 23)


def test_policy_from_the_sample_plan():
    policy = Policy.from_plan(PLAN)
    assert policy.reminders_days_before == (7, 3, 1)
    assert policy.repeat_every_days == 2 and policy.escalate_after_days == 3
    assert policy.quiet_hours is not None and policy.quiet_hours.start == time(21)

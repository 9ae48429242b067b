"""The judgment of a plan's policy from a season's counts (pure: no database)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from config.plan import load_plan
from schedules.season import MostMessaged, Season, Tally, capacity_per_day, judge, sending_hours
from tests.helpers import SAMPLE_PLAN


def _season(busiest: int, most: int) -> Season:
    season = Season(date(2026, 11, 1), date(2027, 1, 31))
    season.days[date(2026, 11, 21)] = Tally(by_kind=Counter(repeat=busiest))
    season.days[date(2026, 11, 22)] = Tally(by_kind=Counter(repeat=busiest - 1))
    season.most_messaged = MostMessaged("C1", "Chi bộ 1", "cell", "email", most)
    return season


def test_the_plan_sends_outside_its_quiet_hours():
    plan = load_plan(SAMPLE_PLAN)  # quiet from 21:00 to 07:00
    assert sending_hours(plan) == 14
    assert capacity_per_day(plan, rate=10) == 10 * 14 * 3600


def test_a_sane_season_raises_nothing():
    assert judge(_season(busiest=1000, most=30), load_plan(SAMPLE_PLAN)) == []


def test_too_many_messages_for_one_unit_names_the_repeat_settings():
    [warning] = judge(_season(busiest=1000, most=31), load_plan(SAMPLE_PLAN))
    assert warning.setting == "max_repeats"
    assert "C1 (Chi bộ 1) sẽ nhận 31 tin qua kênh email" in warning.message
    assert "`max_repeats` = không giới hạn, `repeat_every_days` = 2, `backoff` = 1" in warning.message


def test_a_day_the_channels_cannot_deliver_in_the_sending_hours():
    plan = load_plan(SAMPLE_PLAN)
    season = _season(busiest=10 * 14 * 3600 + 1, most=3)
    [warning] = judge(season, plan, rate=10)
    assert warning.setting == "repeat_every_days"
    assert warning.message.startswith(f"Ngày 21/11/2026 có {10 * 14 * 3600 + 1} tin, quá sức gửi trong 14 giờ")
    assert judge(_season(busiest=10 * 14 * 3600, most=3), plan, rate=10) == []

"""The Vietnamese holiday calendar as data, and plans that shift deadlines on it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from config.calendar import HolidayCalendar, load_calendar, working_day
from config.errors import ConfigError
from config.plan import Plan
from tests.helpers import refused


@pytest.mark.parametrize("day", [
    date(2025, 1, 1), date(2025, 1, 29), date(2025, 4, 7), date(2025, 4, 30), date(2025, 5, 1),
    date(2025, 9, 1), date(2025, 9, 2),
    date(2026, 2, 16), date(2026, 2, 17), date(2026, 4, 27), date(2026, 9, 1), date(2026, 9, 2),
    date(2027, 2, 6), date(2027, 4, 16), date(2027, 5, 3), date(2027, 9, 3),
    date(2028, 1, 26), date(2028, 4, 4), date(2028, 5, 2), date(2028, 9, 4),
])
def test_public_holidays_are_not_working_days(day):
    assert not working_day(day)


def test_sunday_is_a_rest_day_and_saturday_is_not():
    assert not working_day(date(2026, 11, 22))  # Sunday
    assert working_day(date(2026, 11, 21))  # Saturday
    assert working_day(date(2026, 11, 23))  # Monday


def test_every_tet_of_the_data_covers_the_lunar_new_year():
    for new_year in (date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6), date(2028, 1, 26)):
        assert load_calendar("vn").holiday(new_year)


def test_years_beyond_the_data_still_get_the_recurring_days():
    cal = load_calendar("vn")
    assert 2029 not in cal.known_years
    assert not cal.working_day(date(2029, 4, 30)) and not cal.working_day(date(2029, 9, 2))


def test_next_working_day_skips_a_whole_tet():
    assert load_calendar("vn").next_working_day(date(2026, 2, 14)) == date(2026, 2, 23)


def test_a_bad_calendar_file_names_the_key_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ndated:\n  2026:\n    - {date: 2027-01-01, name: wrong year}\n",
                    encoding="utf-8")
    with refused(ConfigError, r"bad\.yaml.*không thuộc năm 2026"):
        load_calendar(str(path))
    with refused(ConfigError, "không có lịch ngày nghỉ 'atlantis'"):
        load_calendar("atlantis")


def test_a_range_must_run_forwards():
    with pytest.raises(ValueError, match="sớm hơn 'from'"):
        HolidayCalendar.model_validate(
            {"name": "x", "dated": {2026: [{"from": "2026-02-20", "to": "2026-02-14", "name": "t"}]}})


def _plan(shift: bool) -> Plan:
    return Plan.model_validate({
        "year": 2026, "title": "t", "holidays": {"shift_to_working_day": shift},
        # 2027-02-06 is Tết; the first working day after it is 10/02/2027
        "deadlines": {"province": {"forms_submitted": {"before": "2027-02-06"}},
                      "cell": {"cell_met": {"by": "2026-11-22"}}},
    })


def test_a_plan_that_shifts_moves_deadlines_off_holidays_and_sundays():
    due = {(m.level, m.stage): m.due_at for m in _plan(True).milestones()}
    assert due["province", "forms_submitted"] == datetime(2027, 2, 9, 17, 0, tzinfo=UTC)
    # by Sunday 22/11 -> by Monday 23/11 -> due at the end of it, 24/11 00:00 local
    assert due["cell", "cell_met"] == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def test_a_plan_that_does_not_shift_keeps_its_dates():
    due = {(m.level, m.stage): m.due_at for m in _plan(False).milestones()}
    assert due["province", "forms_submitted"] == datetime(2027, 2, 5, 17, 0, tzinfo=UTC)
    assert due["cell", "cell_met"] == datetime(2026, 11, 22, 17, 0, tzinfo=UTC)

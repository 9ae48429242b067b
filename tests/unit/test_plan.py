"""Plan dates mean what a Vietnamese plan says, and a contradictory plan is refused by name."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.errors import ConfigError
from config.hierarchy import load_hierarchy
from config.plan import Plan, PlanDate, load_plan
from tests.helpers import refused, worded

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SAMPLE = Path(__file__).parents[2] / "config" / "plans" / "2026.yaml"


def test_before_is_due_at_local_midnight_of_that_day():
    due = PlanDate(before=date(2026, 11, 20)).due_at(HCM)
    assert due == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)


def test_by_is_due_at_the_end_of_that_day():
    due = PlanDate(by=date(2026, 11, 16)).due_at(HCM)
    assert due == datetime(2026, 11, 16, 17, 0, tzinfo=UTC)


def test_a_deadline_on_a_non_working_day_moves_to_the_next_one():
    sunday = date(2026, 11, 22)
    due = PlanDate(before=sunday).due_at(HCM, working_day=lambda d: d.weekday() != 6)
    assert due.astimezone(HCM).date() == date(2026, 11, 23)


def test_plan_dates_need_exactly_one_rule():
    with pytest.raises(ValueError, match="cho đúng một trong hai"):
        PlanDate(before=date(2026, 1, 1), by=date(2026, 1, 2))


def test_the_sample_plan_is_consistent_and_crosses_the_year():
    plan = load_plan(SAMPLE)
    plan.check_against(load_hierarchy("2025"))
    province = [m for m in plan.milestones() if m.level == "province"][0]
    assert province.due_at.astimezone(HCM).date() == date(2027, 1, 20)
    assert plan.effective_rule_set == "qd366"


def _plan(deadlines: dict) -> Plan:
    return Plan.model_validate({"year": 2026, "title": "t", "deadlines": deadlines})


def test_a_later_stage_due_before_an_earlier_one_is_refused_naming_both():
    plan = _plan({"cell": {"reports_prepared": {"before": "2026-11-10"},
                           "cell_met": {"by": "2026-11-05"}}})
    with refused(ConfigError, r"deadlines\.cell\.cell_met .* đến hạn trước deadlines\.cell\.reports_prepared"):
        plan.check_against(load_hierarchy("2025"))


def test_a_child_level_due_after_its_parent_level_is_refused():
    plan = _plan({"cell": {"forms_submitted": {"before": "2026-12-10"}},
                  "base": {"forms_submitted": {"before": "2026-12-05"}}})
    expected = r"deadlines\.cell\.forms_submitted .* đến hạn sau deadlines\.base\.forms_submitted"
    with refused(ConfigError, expected):
        plan.check_against(load_hierarchy("2025"))


def test_same_day_before_and_by_are_ordered_by_their_instants():
    # before 16/11 (00:00) then by 16/11 (24:00): in order
    _plan({"cell": {"reports_prepared": {"before": "2026-11-16"},
                    "cell_met": {"by": "2026-11-16"}}}).check_against(load_hierarchy("2025"))


def test_an_unknown_level_is_refused():
    with refused(ConfigError, "deadlines.ward: không có cấp này"):
        _plan({"ward": {"forms_submitted": {"before": "2026-12-05"}}}).check_against(load_hierarchy("2025"))


def test_errors_in_a_plan_file_name_the_line_and_key(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("year: 2026\ntitle: x\ndeadlines:\n  cell:\n    cell_met: {by: 2026-13-40}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_plan(path)
    assert "plan.yaml:5: deadlines.cell.cell_met.by" in worded(err.value)


def test_an_unknown_stage_is_refused(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("year: 2026\ntitle: x\ndeadlines:\n  cell:\n    meeting: {by: 2026-11-16}\n",
                    encoding="utf-8")
    with refused(ConfigError, "không có giai đoạn 'meeting'"):
        load_plan(path)


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("year: 2026\ntitle: [unclosed\n", encoding="utf-8")
    with refused(ConfigError, "YAML sai ở dòng"):
        load_plan(path)

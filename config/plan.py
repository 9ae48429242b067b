"""The year's plan: deadlines per level and stage, and the policy for reminders.

A plan date carries its meaning: `before: 2026-11-20` ("trước ngày 20/11") falls due at
00:00 local time on that day; `by: 2026-11-16` ("hoàn thành ngày 16/11") at the end of it.
This module turns those dates into UTC instants (`Plan.milestones`), optionally moving a
date that falls on a Sunday or holiday to the next working day. What is owed when (reminders,
late notices, repeats) is arithmetic on those instants and lives in `schedules.deadlines`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.addresses import normalise_email
from config.errors import ConfigError, Problem
from config.hierarchy import Hierarchy
from config.i18n import _
from config.stages import STAGE_ORDER
from config.wording import deadline_words
from config.yamlfile import invalid_file, load_yaml
from config.zone import DEFAULT_TIMEZONE

RULE_SETS = ("qd124", "qd366")

#: Whether a date is a working day; `config.calendar` provides the Vietnamese one.
WorkingDay = Callable[[date], bool]


class PlanDate(BaseModel):
    """`{before: DATE}` (due at 00:00 local that day) or `{by: DATE}` (due at its end)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    before: date | None = None
    by: date | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PlanDate:
        if (self.before is None) == (self.by is None):
            raise ValueError(_("give exactly one of 'before: DATE' or 'by: DATE'"))
        return self

    @property
    def rule(self) -> Literal["before", "by"]:
        return "before" if self.before is not None else "by"

    @property
    def day(self) -> date:
        return self.before if self.before is not None else self.by  # type: ignore[return-value]

    def due_at(self, tz: ZoneInfo, working_day: WorkingDay | None = None) -> datetime:
        """Return the UTC instant this date falls due, shifted off non-working days if asked."""
        day = self.day
        if working_day is not None:
            while not working_day(day):
                day += timedelta(days=1)
        if self.rule == "by":
            day += timedelta(days=1)
        return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)

    def describe(self) -> str:
        """Say the date as a plan does: "trước ngày 20/11/2026" ("before 20/11/2026")."""
        return deadline_words(self.rule, self.day)


class LatePolicy(BaseModel):
    """What happens once a deadline has passed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repeat_every_days: int = Field(default=2, ge=1)
    #: each repeat waits this many times longer than the previous one (1.0: no back-off)
    backoff: float = Field(default=1.0, ge=1.0)
    #: stop repeating after this many repeats (None: while it stays late)
    max_repeats: int | None = Field(default=None, ge=0)
    escalate_after_days: int = Field(default=3, ge=0)
    #: who hears of an escalation: the parent unit's secretary and/or the office address
    escalate_to: tuple[Literal["parent_secretary", "office"], ...] = ("parent_secretary",)
    #: the Ban Tổ chức address told of escalations and sent the daily digest
    office_email: str | None = None

    @field_validator("office_email")
    @classmethod
    def _deliverable(cls, value: str | None) -> str | None:
        return normalise_email(value) if value else None
    #: days after the deadline before a unit of the level counts as late
    grace_days: dict[str, int] = Field(default_factory=dict)


class QuietHours(BaseModel):
    """A nightly window in which nothing is sent; messages wait until it ends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = time(21, 0)
    end: time = time(7, 0)
    #: channels that may send during the window anyway (e.g. `email`)
    exempt_channels: tuple[str, ...] = ()


class HolidayPolicy(BaseModel):
    """Whether a deadline on a Sunday or public holiday moves to the next working day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shift_to_working_day: bool = False
    calendar: str = "vn"


@dataclass(frozen=True)
class Milestone:
    """One (level, stage) deadline of a plan, resolved to a UTC instant."""

    level: str
    stage: str
    due_at: datetime
    plan_date: PlanDate


class Plan(BaseModel):
    """A campaign year's plan, as the README's "The plan file" describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(ge=2000, le=2100)
    title: str
    timezone: str = DEFAULT_TIMEZONE
    rule_set: Literal["qd124", "qd366"] | None = None
    deadlines: dict[str, dict[str, PlanDate]]
    reminders_days_before: tuple[int, ...] = (7, 3, 1)
    late: LatePolicy = LatePolicy()
    quiet_hours: QuietHours | None = None
    holidays: HolidayPolicy = HolidayPolicy()
    excellent_quota: float = Field(default=0.20, gt=0, le=1)
    #: results settings; None: the rule set's sourced default (workflow/results/settings.py)
    quota_scope: Literal["cell", "base"] | None = None
    excellent_vote: Literal["more_than_two_thirds", "at_least_two_thirds"] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(_("unknown time zone '{zone}'").format(zone=value)) from exc
        return value

    @field_validator("reminders_days_before")
    @classmethod
    def _positive_offsets(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(d <= 0 for d in value):
            raise ValueError(_("reminder offsets are whole days before the deadline, above 0"))
        return tuple(sorted(set(value), reverse=True))

    @field_validator("deadlines")
    @classmethod
    def _known_stages(cls, value: dict[str, dict[str, PlanDate]]) -> dict[str, dict[str, PlanDate]]:
        for level, stages in value.items():
            for stage in stages:
                if stage not in STAGE_ORDER or stage == "plan_issued":
                    allowed = ", ".join(STAGE_ORDER[1:])
                    raise ValueError(_("{level}: unknown stage '{stage}' (stages: {stages})").format(
                        level=level, stage=stage, stages=allowed))
        return value

    @field_validator("deadlines")
    @classmethod
    def _some_deadline(cls, value: dict[str, dict[str, PlanDate]]) -> dict[str, dict[str, PlanDate]]:
        if not any(value.values()):
            raise ValueError(_("the plan has no deadline: at least one level needs a stage with a deadline "
                               "(for example cell: {example})").format(
                example="{forms_submitted: {before: 2026-11-20}}"))
        return value

    @model_validator(mode="after")
    def _dates_in_the_campaign_year(self) -> Plan:
        """Refuse a date outside 1 July of the year – 30 June of the next: a typo in the year
        would otherwise make every unit hundreds of days late at once."""
        first, last = date(self.year, 7, 1), date(self.year + 1, 6, 30)
        wrong = [f"deadlines.{level}.{stage} ({pd.describe()})"
                 for level, stages in self.deadlines.items() for stage, pd in stages.items()
                 if not first <= pd.day <= last]
        if wrong:
            raise ValueError(_("deadlines outside the {year} review year ({first} to {last}): {wrong}").format(
                year=self.year, first=f"{first:%d/%m/%Y}", last=f"{last:%d/%m/%Y}", wrong=", ".join(wrong)))
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_rule_set(self) -> str:
        """The rule set named by the plan, else the one in force that year (366 from 2025)."""
        return self.rule_set or ("qd366" if self.year >= 2025 else "qd124")

    def milestones(self, working_day: WorkingDay | None = None) -> list[Milestone]:
        """Resolve every (level, stage) date to its UTC instant, in stage order per level.

        With `holidays.shift_to_working_day` a date on a rest day or holiday moves to the next
        working day of `working_day`, or of the plan's own calendar (`holidays.calendar`).
        """
        shift = None
        if self.holidays.shift_to_working_day:
            from config.calendar import load_calendar  # only plans that shift read the data

            shift = working_day or load_calendar(self.holidays.calendar).working_day
        out = []
        for level, stages in self.deadlines.items():
            for stage in STAGE_ORDER:
                if stage in stages:
                    pd = stages[stage]
                    out.append(Milestone(level, stage, pd.due_at(self.zone, shift), pd))
        return out

    def check_against(self, hierarchy: Hierarchy, working_day: WorkingDay | None = None) -> None:
        """Refuse a plan whose deadlines run backwards, naming the level and the stage.

        Within a level a later stage may not fall due before an earlier one; a level's
        `forms_submitted` may not fall due after that of any level it may sit under.
        """
        problems = []
        for level in self.deadlines:
            if level not in hierarchy.names:
                problems.append(Problem("plan.unknown_level", level=level, levels=", ".join(hierarchy.names)))
        by_level: dict[str, list[Milestone]] = {}
        for m in self.milestones(working_day):
            by_level.setdefault(m.level, []).append(m)
        for level, items in by_level.items():
            for earlier, later in zip(items, items[1:], strict=False):
                if later.due_at < earlier.due_at:
                    problems.append(Problem("plan.stage_before", level=level, later=later.stage,
                                            later_date=later.plan_date.describe(), earlier=earlier.stage,
                                            earlier_date=earlier.plan_date.describe()))
        submitted = {m.level: m for m in self.milestones(working_day) if m.stage == "forms_submitted"}
        for child_level in hierarchy.levels:
            child = submitted.get(child_level.name)
            if child is None:
                continue
            for parent_name in child_level.parents:
                parent = submitted.get(parent_name)
                if parent is not None and child.due_at > parent.due_at:
                    problems.append(Problem("plan.after_parent", level=child_level.name,
                                            date=child.plan_date.describe(), parent=parent_name,
                                            parent_date=parent.plan_date.describe()))
        if problems:
            raise ConfigError("plan.contradicts_itself", problems)


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; errors name the file, the key and the line."""
    path = Path(path)
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("plan.not_mapping", file=str(path))
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise invalid_file(path, exc, lines) from exc

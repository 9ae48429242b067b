"""The public-holiday calendar a plan's deadlines may shift on, read from `config/holidays/`.

A plan that sets `holidays.shift_to_working_day` moves a deadline that falls on a weekly
rest day (Sunday) or a public holiday to the next working day. Tết and Giỗ Tổ Hùng Vương
follow the lunar calendar and the Government announces the exact days off each year, so
the days are data an office can edit, not arithmetic.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.i18n import _
from config.yamlfile import load_named

CALENDARS_DIR = Path(__file__).parent / "holidays"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class RecurringHoliday(BaseModel):
    """A holiday on the same solar date every year (1/1, 30/4, 1/5, 2/9)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    month: int
    day: int
    name: str


class DatedHoliday(BaseModel):
    """One day (`date`) or a run of days (`from`..`to`, inclusive) off in a given year."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    on: date | None = Field(default=None, alias="date")
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    name: str

    @model_validator(mode="after")
    def _one_shape(self) -> DatedHoliday:
        if (self.on is None) == (self.from_ is None or self.to is None):
            raise ValueError(_("give either 'date: DAY' or both 'from: DAY' and 'to: DAY'"))
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError(_("'to' ({to}) is before 'from' ({start})").format(to=self.to, start=self.from_))
        return self

    def days(self) -> list[date]:
        if self.on is not None:
            return [self.on]
        assert self.from_ is not None and self.to is not None
        return [self.from_ + timedelta(days=i) for i in range((self.to - self.from_).days + 1)]


class HolidayCalendar(BaseModel):
    """Weekly rest days, recurring holidays and each year's announced days off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    weekly_rest_days: tuple[Literal[WEEKDAYS], ...] = ("sunday",)  # type: ignore[valid-type]
    recurring: tuple[RecurringHoliday, ...] = ()
    dated: dict[int, tuple[DatedHoliday, ...]] = {}

    @model_validator(mode="after")
    def _dates_in_their_year(self) -> HolidayCalendar:
        for year, items in self.dated.items():
            for item in items:
                for day in item.days():
                    if day.year != year:
                        raise ValueError(_("dated.{year}: {day} ('{name}') is not in {year}").format(
                            year=year, day=day, name=item.name))
        return self

    @cached_property
    def _days_off(self) -> frozenset[date]:
        return frozenset(day for items in self.dated.values() for item in items for day in item.days())

    @cached_property
    def _rest_weekdays(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(name) for name in self.weekly_rest_days)

    @property
    def known_years(self) -> tuple[int, ...]:
        """The years whose announced days off are in the data (others get recurring days only)."""
        return tuple(sorted(self.dated))

    def holiday(self, day: date) -> bool:
        """Say whether `day` is a public holiday (not counting weekly rest days)."""
        if day in self._days_off:
            return True
        return any(r.month == day.month and r.day == day.day for r in self.recurring)

    def working_day(self, day: date) -> bool:
        """Say whether `day` is a working day: neither a weekly rest day nor a holiday."""
        return day.weekday() not in self._rest_weekdays and not self.holiday(day)

    def next_working_day(self, day: date) -> date:
        """Return `day` itself if it is a working day, else the first working day after it."""
        while not self.working_day(day):
            day += timedelta(days=1)
        return day


@lru_cache(maxsize=8)
def load_calendar(name_or_path: str = "vn") -> HolidayCalendar:
    """Load a calendar by name (`vn`) or from a YAML file path; errors name the key and line."""
    return load_named(name_or_path, CALENDARS_DIR, HolidayCalendar, _("holiday calendar"))


def working_day(day: date) -> bool:
    """Say whether `day` is a working day in Việt Nam (the default calendar)."""
    return load_calendar("vn").working_day(day)

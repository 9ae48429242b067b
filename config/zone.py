"""The time zone a plan means when it names none, in one place.

Vietnam: Asia/Ho_Chi_Minh, +07:00, no daylight saving since 1975. What belongs to a campaign
is shown in its plan's zone (`Campaign.timezone`, `Plan.timezone`); this default is for
what is read before a campaign is known (a command line's instant) and for the SQL of
SQLite, which has no time zones and uses the offset.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_ZONE = ZoneInfo(DEFAULT_TIMEZONE)

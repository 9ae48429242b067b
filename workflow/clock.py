"""The one source of "now": every use case takes a `Clock`, so tests and `--now` can fix it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
DAY = timedelta(days=1)


def system_clock() -> datetime:
    """Return the current instant in UTC (freezegun's frozen time inside tests)."""
    return datetime.now(UTC)


def fixed_clock(instant: datetime) -> Clock:
    """Return a clock that always says `instant` (the CLI's `--now`)."""
    if instant.tzinfo is None:
        raise ValueError("a fixed clock needs an aware datetime")
    frozen = instant.astimezone(UTC)
    return lambda: frozen


def days_late(deadline: datetime, now: datetime) -> int | None:
    """Return whole days since the deadline instant (10 days and 8 hours: 10), None before it."""
    if now < deadline:
        return None
    return (now - deadline) // DAY

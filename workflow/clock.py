"""The one source of "now": every use case takes a `Clock`, so tests and `--now` can fix it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Return the current instant in UTC (freezegun's frozen time inside tests)."""
    return datetime.now(UTC)


def fixed_clock(instant: datetime) -> Clock:
    """Return a clock that always says `instant` (the CLI's `--now`)."""
    if instant.tzinfo is None:
        raise ValueError("a fixed clock needs an aware datetime")
    frozen = instant.astimezone(UTC)
    return lambda: frozen

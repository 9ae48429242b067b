"""Run sweeps for a person to read: `remind` (now) and `simulate` (a season on a virtual clock).

Both run the real sweep inside one transaction and list the rows it inserted; a dry run and
a simulation roll that transaction back, so the database is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schedules.sweep import SweepReport, sweep
from schedules.timetable import load_timetable
from workflow.models import Notification

COLUMNS = ("at", "kind", "unit", "stage", "recipient", "channel")


def sweep_and_list(session: Session, now: datetime, channels: tuple[str, ...],
                   public_url: str) -> tuple[SweepReport, list[dict[str, Any]]]:
    """Sweep at `now` in the caller's transaction; return the report and the rows it wrote."""
    last = session.scalar(select(func.max(Notification.id))) or 0
    report = sweep(session, now, channels, public_url)
    rows = session.scalars(select(Notification).where(Notification.id > last)
                           .order_by(Notification.next_attempt_at, Notification.id))
    return report, [{"at": n.next_attempt_at, "kind": n.kind, "unit": n.payload.get("unit_code"),
                     "stage": n.stage, "recipient": n.recipient, "channel": n.channel}
                    for n in rows]


def season_steps(session: Session, start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every milestone instant in [start, end] plus each local midnight (when repeats fall due)."""
    table = load_timetable(session, start - timedelta(microseconds=1), limit=100_000)
    steps = {at for at in table.instants if start <= at <= end}
    day: date = start.astimezone(zone).date()
    while (at := datetime.combine(day, time(0), tzinfo=zone)) <= end:
        if at >= start:
            steps.add(at)
        day += timedelta(days=1)
    return sorted(steps)


def simulate(session: Session, start: datetime, end: datetime, channels: tuple[str, ...],
             public_url: str, zone: ZoneInfo) -> Iterator[dict[str, Any]]:
    """Yield what every sweep from `start` to `end` would write, as if nobody acted meanwhile.

    The caller rolls the transaction back afterwards.
    """
    for step in season_steps(session, start, end, zone):
        _, rows = sweep_and_list(session, step, channels, public_url)
        yield from rows

"""Run the sweep now for a person to read (`remind`): the rows it inserted, listed.

It runs in the caller's transaction; a dry run rolls it back, so the database is left
exactly as it was. A season on a virtual clock (`simulate`) is `schedules.season`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schedules.sweep import SweepReport, sweep
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

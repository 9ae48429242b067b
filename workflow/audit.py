"""Append to the audit log: who changed what, when, and why.

Every use case that changes a cycle, a deadline or the unit tree writes here in the same
transaction as the change, so the trail and the data can never disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.models import AuditEntry


def record(session: Session, clock: Clock, actor: str, action: str, *,
           campaign_id: int | None = None, unit_id: int | None = None,
           cycle_id: int | None = None, from_state: str | None = None,
           to_state: str | None = None, reason: str | None = None,
           details: dict[str, Any] | None = None, reached_at: datetime | None = None) -> None:
    """Append one entry; the caller's transaction commits it with the change it describes."""
    session.execute(insert(AuditEntry).values(
        at=clock(), actor=actor, action=action, campaign_id=campaign_id, unit_id=unit_id,
        cycle_id=cycle_id, from_state=from_state, to_state=to_state, reason=reason,
        details=details, reached_at=reached_at,
    ))

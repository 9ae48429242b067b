"""Append to the audit log: who changed what, when, and why.

Every use case that changes a cycle, a deadline or the unit tree writes here in the same
transaction as the change, so the trail and the data can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.models import AuditEntry
from workflow.stages import RANK


def record(session: Session, clock: Clock, actor: str, action: str, *,
           campaign_id: int | None = None, unit_id: int | None = None,
           cycle_id: int | None = None, from_state: str | None = None,
           to_state: str | None = None, reason: str | None = None,
           details: dict[str, Any] | None = None, reached_at: datetime | None = None) -> None:
    """Append one entry; the caller's transaction commits it with the change it describes.

    One prepared statement with the entry as parameters: `insert().values(...)` built the
    statement and its cache key from the values on every call (~1 ms of a link's POST)."""
    session.execute(_INSERT, {
        "at": clock(), "actor": actor, "action": action, "campaign_id": campaign_id,
        "unit_id": unit_id, "cycle_id": cycle_id, "from_state": from_state, "to_state": to_state,
        "reason": reason, "details": details, "reached_at": reached_at,
    })


_INSERT = insert(AuditEntry)


def stage_reached_at(moves: Iterable[AuditEntry], stage: str) -> datetime | None:
    """When a cycle reached `stage`, if it still stands there or beyond; None if it does not.

    `moves` are the cycle's entries with a `to_state`, oldest first. An undo through the
    link or a reopen moves a cycle back below a stage: the stage counts as not reached, and
    if it is reached again, from that later time.
    """
    reached = None
    for move in moves:
        if move.to_state not in RANK:
            continue
        if RANK[move.to_state] < RANK[stage]:
            reached = None
        elif reached is None:
            reached = move.reached_at or move.at
    return reached

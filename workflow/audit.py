"""Append to the audit log: who changed what, when, and why.

Every use case that changes a cycle, a deadline or the unit tree writes here in the same
transaction as the change, so the trail and the data can never disagree. A person's reason
is stored as they typed it; a reason the system gives itself (a unit aggregated with its
parent, a step undone through the link) is a `Problem`, stored as code and data under
`details["said"]` and worded when read, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.errors import Problem, from_json, to_json
from workflow.models import AuditEntry
from workflow.stages import RANK


def record(session: Session, clock: Clock, actor: str, action: str, *,
           campaign_id: int | None = None, unit_id: int | None = None,
           cycle_id: int | None = None, from_state: str | None = None,
           to_state: str | None = None, reason: str | Problem | None = None,
           details: dict[str, Any] | None = None, reached_at: datetime | None = None) -> None:
    """Append one entry; the caller's transaction commits it with the change it describes.
    A `Problem` reason goes into the details (`said`).

    One prepared statement with the entry as parameters: `insert().values(...)` would build
    the statement and its cache key from the values on every call, and every advance writes
    an entry."""
    if isinstance(reason, Problem):
        details = said(reason, details)
        reason = None
    session.execute(_INSERT, {
        "at": clock(), "actor": actor, "action": action, "campaign_id": campaign_id,
        "unit_id": unit_id, "cycle_id": cycle_id, "from_state": from_state, "to_state": to_state,
        "reason": reason, "details": details, "reached_at": reached_at,
    })


_INSERT = insert(AuditEntry)


def said(reason: Problem, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """`details` with the system's own `reason` stored as code and data."""
    return {**(details or {}), "said": to_json(reason)}


def reason_of(reason: str | None, details: Any) -> Problem | str | None:
    """An entry's reason: the system's own as a `Problem` for the edge to word, else the text a
    person gave (or the system wrote, in entries stored before reasons had codes)."""
    stored = details.get("said") if isinstance(details, dict) else None
    return from_json(stored) if stored is not None else reason


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

"""The outbox's SQL: claim due rows, record outcomes, list and requeue them.

A row is claimed by moving it to `sending` with a lease and one more attempt, in a committed
transaction, before anything is sent. PostgreSQL picks rows with `SELECT … FOR UPDATE SKIP
LOCKED`, so concurrent dispatchers take disjoint batches without waiting; on SQLite the
claim's write transaction (`BEGIN IMMEDIATE`) shuts out every other writer, so the batch
selected is claimed by one `UPDATE` before anyone else can look. A `sending` row whose
lease has run out (its dispatcher died) is due again.
Outcomes are fenced by `attempts`: a dispatcher whose lease was taken over cannot overwrite
the newer claim's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workflow.db import Database
from workflow.models import Notification, Unit

N = Notification
STATUSES = ("pending", "sending", "sent", "failed", "dead")


@dataclass(frozen=True)
class Claimed:
    """A row this dispatcher holds: what it needs to render and send it, and its fence."""

    id: int
    kind: str
    channel: str
    recipient: str
    dedup_key: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row: `sent`, `pending` (retry at `retry_at`), `failed`, `dead`."""

    row: Claimed
    status: str
    error: str | None = None
    retry_at: datetime | None = None


def insert_ignoring_conflicts(session: Session, model: type, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT a few rows, skipping any that collide with a unique key; return how many went in."""
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    keys = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    statement = insert(model).on_conflict_do_nothing().returning(*keys)
    return sum(len(connection.execute(statement.values(**row)).all()) for row in rows)


def _due(now: datetime, channels: Iterable[str]) -> Any:
    expired = and_(N.status == "sending", N.lease_until < now)
    return and_(N.next_attempt_at <= now, N.channel.in_(list(channels)),
                or_(N.status == "pending", expired))


def _bury_exhausted(session: Session, now: datetime, max_attempts: int) -> None:
    """A row whose dispatcher died during its last allowed attempt is `dead`, not retried."""
    session.execute(
        update(N).where(N.status == "sending", N.lease_until < now, N.attempts >= max_attempts)
        .values(status="dead", lease_until=None, updated_at=now,
                last_error=func.coalesce(N.last_error, "lease expired during the last attempt"))
        .execution_options(synchronize_session=False))


def claim(db: Database, *, now: datetime, channels: Iterable[str], limit: int, lease: timedelta,
          max_attempts: int) -> list[Claimed]:
    """Claim up to `limit` due rows for `channels`, committed as `sending` before returning."""
    channels = list(channels)
    claimed_values = dict(status="sending", lease_until=now + lease, attempts=N.attempts + 1,
                          updated_at=now)
    with db.session(write=True) as session:
        _bury_exhausted(session, now, max_attempts)
        candidates = select(N.id).where(_due(now, channels)).order_by(N.next_attempt_at, N.id).limit(limit)
        # PostgreSQL: rows another dispatcher holds are skipped, those selected stay locked until
        # commit. SQLite: the write transaction (BEGIN IMMEDIATE) already excludes every other
        # writer, so the rows selected are still due when they are updated.
        if db.dialect == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(session.scalars(candidates))
        if ids:
            session.execute(update(N).where(N.id.in_(ids)).values(**claimed_values)
                            .execution_options(synchronize_session=False))
        if not ids:
            return []
        rows = session.execute(select(N.id, N.kind, N.channel, N.recipient, N.dedup_key,
                                      N.payload, N.attempts).where(N.id.in_(ids)).order_by(N.id))
        return [Claimed(*row) for row in rows]


def record(db: Database, outcomes: Sequence[Outcome], now: datetime) -> int:
    """Store outcomes in one transaction; return how many rows were still ours to update.

    Outcomes are grouped by what they set, and each group is one executemany UPDATE,
    fenced per row by `attempts` (a row re-claimed since is left alone).
    """
    groups: dict[tuple[str, str | None, datetime | None], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        key = (outcome.status, outcome.error, outcome.retry_at)
        groups.setdefault(key, []).append({"rid": outcome.row.id, "ratt": outcome.row.attempts})
    table = N.__table__
    updated = 0
    with db.session(write=True) as session:
        connection = session.connection()
        for (status, error, retry_at), params in groups.items():
            values: dict[str, Any] = dict(status=status, lease_until=None, updated_at=now,
                                          last_error=error)
            if status == "sent":
                values["sent_at"] = now
            if retry_at is not None:
                values["next_attempt_at"] = retry_at
            statement = (table.update()
                         .where(table.c.id == bindparam("rid"), table.c.attempts == bindparam("ratt"),
                                table.c.status == "sending").values(**values))
            updated += connection.execute(statement, params).rowcount
    return updated


def next_due(db: Database, channels: Iterable[str]) -> datetime | None:
    """When the earliest pending row for `channels` falls due (None: nothing waits)."""
    with db.session() as session:
        return session.scalar(select(func.min(N.next_attempt_at))
                              .where(N.status.in_(("pending", "sending")),
                                     N.channel.in_(list(channels))))


def requeue(db: Database, *, now: datetime, ids: Sequence[int] = (), all_failed: bool = False) -> int:
    """Put `failed`/`dead` rows back to `pending`, due now, attempts reset; return the count."""
    where = [N.status.in_(("failed", "dead"))]
    if not all_failed:
        where.append(N.id.in_(list(ids)))
    with db.session(write=True) as session:
        result = session.execute(
            update(N).where(*where).values(status="pending", attempts=0, next_attempt_at=now,
                                           lease_until=None, updated_at=now)
            .execution_options(synchronize_session=False))
        return result.rowcount


def list_rows(db: Database, status: str | None = None) -> list[dict[str, Any]]:
    """The outbox as the CLI shows it: `id,kind,unit,stage,channel,recipient,status,attempts,
    dedup_key,last_error` (plus the times), oldest first."""
    query = (select(N.id, N.kind, Unit.code.label("unit"), N.stage, N.channel, N.recipient,
                    N.status, N.attempts, N.dedup_key, N.last_error, N.next_attempt_at, N.sent_at)
             .outerjoin(Unit, Unit.id == N.unit_id).order_by(N.id))
    if status is not None:
        query = query.where(N.status == status)
    with db.session() as session:
        return [dict(row._mapping) for row in session.execute(query)]

"""The outbox's SQL: claim due rows, record outcomes, give up old ones, list and requeue them.

A row is claimed by moving it to `sending` with a lease and one more attempt, in a committed
transaction, before anything is sent. PostgreSQL picks rows with `SELECT … FOR UPDATE SKIP
LOCKED`, so concurrent dispatchers take disjoint batches without waiting; on SQLite the
claim's write transaction (`BEGIN IMMEDIATE`) shuts out every other writer, so the batch
selected is claimed by one `UPDATE` before anyone else can look. A `sending` row whose
lease has run out (its dispatcher died) is due again, and its `last_error` says so; a live
dispatcher renews the leases of the rows it holds, so it never loses one to another.
Outcomes are fenced by `attempts`: a dispatcher whose lease was taken over cannot overwrite
the newer claim's result. Rows are abandoned (`dead`) by age, never by their number of
attempts: a peer that is down for a weekend must not cost the rows waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from workflow.db import Database, affected
from workflow.models import Notification, Unit
from workflow.notices import BUNDLED_KINDS
from workflow.sqlrender import Dialect

N = Notification
STATUSES = ("pending", "sending", "sent", "failed", "dead")
#: what a row taken over from an expired lease says: the previous attempt's outcome is unknown
DIED = "the instance sending it stopped before recording the outcome (lease expired)"
SUPERSEDED = "superseded by a newer message to the same recipient about the same unit"


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
class DeliveryOutcome:
    """What became of one claimed row: `sent`, `pending` (retry at `retry_at`), `failed`.

    `refund` gives the attempt back: the peer could not be reached, so the row did not
    really try (it waits for its channel to come back up, attempts unchanged). `reference`
    is the peer's id for a message sent; `duration_ms` how long the attempt took.
    """

    row: Claimed
    status: str
    error: str | None = None
    retry_at: datetime | None = None
    refund: bool = False
    reference: str | None = None
    duration_ms: float | None = None


def insert_ignoring_conflicts(session: Session, model: type, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT a few rows, skipping any that collide with a unique key; return how many went in."""
    connection = session.connection()
    keys = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    statement = Dialect.of(connection).insert(model).on_conflict_do_nothing().returning(*keys)
    return sum(len(connection.execute(statement.values(**row)).all()) for row in rows)


def _due(now: datetime, channels: Iterable[str]) -> Any:
    expired = and_(N.status == "sending", N.lease_until < now)
    return and_(N.next_attempt_at <= now, N.channel.in_(list(channels)),
                or_(N.status == "pending", expired))


def claim(db: Database, *, now: datetime, channels: Iterable[str], limit: int,
          lease: timedelta) -> list[Claimed]:
    """Claim up to `limit` due rows for `channels`, committed as `sending` before returning."""
    channels = list(channels)
    if not channels or limit <= 0:
        return []
    taken_over = case((N.status == "sending", literal(DIED)), else_=N.last_error)
    claimed_values = dict(status="sending", lease_until=now + lease, attempts=N.attempts + 1,
                          updated_at=now, last_error=taken_over)
    with db.session(write=True) as session:
        candidates = select(N.id).where(_due(now, channels)).order_by(N.next_attempt_at, N.id).limit(limit)
        # rows another dispatcher holds are skipped, those selected stay locked until commit
        candidates = Dialect.of(session).skip_locked(candidates)
        ids = list(session.scalars(candidates))
        if not ids:
            return []
        session.execute(update(N).where(N.id.in_(ids)).values(**claimed_values)
                        .execution_options(synchronize_session=False))
        rows = session.execute(select(N.id, N.kind, N.channel, N.recipient, N.dedup_key,
                                      N.payload, N.attempts).where(N.id.in_(ids)).order_by(N.id))
        return [Claimed(*row) for row in rows]


def renew(db: Database, rows: Iterable[Claimed], now: datetime, lease: timedelta) -> int:
    """Extend the leases of rows this dispatcher still holds; return how many were renewed."""
    params = [{"rid": row.id, "ratt": row.attempts} for row in sorted(rows, key=lambda r: r.id)]
    if not params:
        return 0
    table = N.__table__
    statement = (table.update().where(table.c.id == bindparam("rid"), table.c.attempts == bindparam("ratt"),
                                      table.c.status == "sending")
                 .values(lease_until=now + lease))
    with db.session(write=True) as session:
        return session.connection().execute(statement, params).rowcount


def give_up(db: Database, *, now: datetime, channels: Iterable[str], age: timedelta) -> list[dict[str, Any]]:
    """Abandon (`dead`) the waiting rows of `channels` that are pointless now; return them.

    Waiting means `pending`, or `sending` under an expired lease (its instance died). A row
    is pointless when it was created more than `age` ago, or when a newer bundle of the same
    kind (a unit's notices, a parent's escalation) was written for the same unit, channel
    and recipient: the next day's message restates whatever is still owed, so after an
    outage only the latest goes out. An officer's manual reminder is never superseded. The
    row's `last_error` says why: its age (then the last failure, or that its instance died),
    or the supersession.
    """
    hours = f"{age.total_seconds() / 3600:g}"
    waiting = or_(N.status == "pending", and_(N.status == "sending", N.lease_until < now))
    old = N.created_at < now - age
    newer = aliased(Notification)
    superseded = and_(N.kind.in_(BUNDLED_KINDS), N.unit_id.is_not(None), exists().where(
        newer.unit_id == N.unit_id, newer.created_at > N.created_at, newer.channel == N.channel,
        newer.recipient == N.recipient, _bundle(newer.kind) == _bundle(N.kind)))
    reason = case((old, literal(f"gave up after {hours} h: ")
                   + case((N.status == "sending", literal(DIED)),
                          else_=func.coalesce(N.last_error, "never attempted"))),
                  else_=literal(SUPERSEDED))
    candidates = select(N.id).where(waiting, N.channel.in_(list(channels)), or_(old, superseded))
    candidates = Dialect.of(db).skip_locked(candidates)  # another instance's are its own
    with db.session(write=True) as session:
        ids = list(session.scalars(candidates))
        if not ids:
            return []
        session.execute(update(N).where(N.id.in_(ids), waiting)
                        .values(status="dead", lease_until=None, updated_at=now, last_error=reason)
                        .execution_options(synchronize_session=False))
        rows = session.execute(select(N.id, N.kind, N.channel, N.recipient, N.attempts, N.created_at,
                                      N.last_error).where(N.id.in_(ids), N.status == "dead").order_by(N.id))
        return [dict(row._mapping) for row in rows]


def _bundle(kind: Any) -> Any:
    """The bundle a row's kind belongs to: a unit's own notices, whatever the most urgent item."""
    return case((kind.in_(("reminder", "late", "repeat")), literal("notice")), else_=kind)


def undelivered(session: Session, since: datetime | None) -> list[dict[str, Any]]:
    """Rows that became `failed` or `dead` since `since` (all, when None): how many, per channel
    and reason, the most frequent first (what the office's digest reports)."""
    query = (select(N.channel, N.last_error.label("reason"), func.count().label("count"))
             .where(N.status.in_(("failed", "dead")), N.kind != "digest")
             .group_by(N.channel, N.last_error).order_by(func.count().desc(), N.channel))
    if since is not None:
        query = query.where(N.updated_at >= since)
    return [dict(row._mapping) for row in session.execute(query)]


def record_outcomes(db: Database, outcomes: Sequence[DeliveryOutcome], now: datetime) -> int:
    """Store outcomes in one transaction; return how many rows were still ours to update.

    Outcomes are grouped by what they set, and each group is one executemany UPDATE,
    fenced per row by `attempts` (a row re-claimed since is left alone).
    """
    groups: dict[tuple[str, str | None, datetime | None, bool], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        key = (outcome.status, outcome.error, outcome.retry_at, outcome.refund)
        groups.setdefault(key, []).append({"rid": outcome.row.id, "ratt": outcome.row.attempts,
                                           "rref": outcome.reference, "rms": outcome.duration_ms})
    table = N.__table__
    updated = 0
    with db.session(write=True) as session:
        connection = session.connection()
        for (status, error, retry_at, refund), params in groups.items():
            values: dict[str, Any] = dict(status=status, lease_until=None, updated_at=now,
                                          last_error=error, reference=bindparam("rref"),
                                          duration_ms=bindparam("rms"))
            if status == "sent":
                values["sent_at"] = now
            if retry_at is not None:
                values["next_attempt_at"] = retry_at
            if refund:
                values["attempts"] = table.c.attempts - 1
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


def waiting(db: Database) -> dict[str, int]:
    """How many rows wait to be delivered (`pending`, or `sending` under a lease), per channel,
    whether or not this instance has the channel enabled."""
    with db.session() as session:
        rows = session.execute(select(N.channel, func.count()).where(N.status.in_(("pending", "sending")))
                               .group_by(N.channel))
        return {channel: count for channel, count in rows}


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
        return affected(result)


def list_rows(db: Database, status: str | None = None) -> list[dict[str, Any]]:
    """The outbox as the CLI shows it: `id,kind,unit,stage,channel,recipient,status,attempts,
    dedup_key,last_error` (plus the times and the last attempt's reference and duration), oldest first."""
    query = (select(N.id, N.kind, Unit.code.label("unit"), N.stage, N.channel, N.recipient,
                    N.status, N.attempts, N.dedup_key, N.last_error, N.next_attempt_at, N.sent_at,
                    N.reference, N.duration_ms)
             .outerjoin(Unit, Unit.id == N.unit_id).order_by(N.id))
    if status is not None:
        query = query.where(N.status == status)
    with db.session() as session:
        return [dict(row._mapping) for row in session.execute(query)]

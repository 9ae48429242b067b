"""What a fault did to the database: row counts and content digests of every table, compared.

A fault test takes a snapshot before and after and asks the difference: rows lost (must be
none) and rows duplicated or added (must be none for a refused input; at most the in-flight
messages for a killed dispatcher).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schedules.sweep import sweep
from workflow.db import Database
from workflow.models import Base, Notification


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int]
    digests: dict[str, str]


def snapshot(db: Database) -> Snapshot:
    """Count and digest every table the models know, in primary-key order."""
    counts, digests = {}, {}
    with db.session() as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
            counts[table.name] = len(rows)
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return Snapshot(counts, digests)


def difference(before: Snapshot, after: Snapshot) -> dict[str, str]:
    """Per changed table: how many rows were lost or added, or that rows changed in place."""
    changes = {}
    for name, count in before.counts.items():
        now = after.counts.get(name, 0)
        if now < count:
            changes[name] = f"{count - now} row(s) lost"
        elif now > count:
            changes[name] = f"{now - count} row(s) added"
        elif before.digests[name] != after.digests.get(name):
            changes[name] = "rows changed in place"
    return changes


@dataclass(frozen=True)
class Account:
    """What arrived against what was owed: keys lost, keys seen more than once, keys not owed."""

    owed: int
    arrived: int
    lost: frozenset[str]
    duplicated: dict[str, int]  # key -> extra copies
    unexpected: frozenset[str]

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected)

    def __str__(self) -> str:
        sample = sorted(self.lost)[:3] + sorted(self.unexpected)[:3]
        return (f"owed {self.owed}, arrived {self.arrived}: lost {len(self.lost)}, "
                f"duplicated {sum(self.duplicated.values())} (of {len(self.duplicated)} keys), "
                f"unexpected {len(self.unexpected)}" + (f"; e.g. {sample}" if sample else ""))


def account(owed: Iterable[str], arrived: Iterable[str]) -> Account:
    """Compare the keys owed with the keys that arrived (a key may arrive several times)."""
    owed_set, seen = frozenset(owed), Counter(arrived)
    return Account(owed=len(owed_set), arrived=sum(seen.values()), lost=owed_set - set(seen),
                   duplicated={k: n - 1 for k, n in seen.items() if n > 1},
                   unexpected=frozenset(seen) - owed_set)


def outbox_keys(db: Database) -> list[str]:
    """Every de-duplication key in the outbox (unique by construction: a sweep's ledger)."""
    with db.session() as session:
        return list(session.scalars(select(Notification.dedup_key)))


def outbox_statuses(db: Database) -> dict[str, int]:
    """How many outbox rows are in each status."""
    with db.session() as session:
        return dict(session.execute(select(Notification.status, func.count())
                                    .group_by(Notification.status)).all())


def swept_keys(db: Database, now: datetime, channels: tuple[str, ...], public_url: str,
               keep: bool = False) -> set[str]:
    """The keys one sweep at `now` writes: what the outbox owes; committed only with `keep`."""
    with db.engine.connect() as conn:
        tx = conn.execution_options(kiemdiem_write=True).begin()
        try:
            with Session(bind=conn) as session:
                before = set(session.scalars(select(Notification.dedup_key)))
                sweep(session, now, channels, public_url)
                session.flush()
                keys = set(session.scalars(select(Notification.dedup_key))) - before
            if keep:
                tx.commit()
        finally:
            if tx.is_active:
                tx.rollback()
    return keys

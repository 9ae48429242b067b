"""What a fault did to the database: row counts and content digests of every table, compared.

A fault test takes a snapshot before and after and asks the difference: rows lost (must be
none) and rows duplicated or added (must be none for a refused input; at most the in-flight
messages for a killed dispatcher).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from workflow.db import Database
from workflow.models import Base


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

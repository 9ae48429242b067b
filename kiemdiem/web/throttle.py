"""The login limit: growing delays per (name, address), and a per-name ceiling that slows.

No account is ever locked. A name tried from one address gets `FREE_FAILURES` wrong
passwords, then must wait 1, 2, 4 … seconds (at most `MAX_DELAY`) before each next try, so a
stranger cannot shut its owner out from elsewhere. Across every address, a name that failed
more than `NAME_CEILING` times within `WINDOW` makes each further try wait `NAME_SLOWDOWN`
before its password is checked: slower, never refused.

Each try is counted *before* its password is checked, in one atomic upsert
(`INSERT … ON CONFLICT DO UPDATE … WHERE blocked_until <= now RETURNING`, on SQLite and
PostgreSQL alike), so concurrent tries cannot all read "no failures yet" and all be checked;
a success takes its own count back.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from workflow.db import Database
from workflow.models import LoginCounter
from workflow.sqlrender import Dialect

FREE_FAILURES = 3
MAX_DELAY = timedelta(minutes=5)
WINDOW = timedelta(minutes=15)
NAME_CEILING = 30
NAME_SLOWDOWN = 3.0  # seconds

#: On SQLite the counting writes of one process queue here rather than on the database's busy
#: timeout, which sleeps while holding a pooled connection: a burst of tries would hold every
#: connection the pages need until the burst has been counted.
_SQLITE_WRITES = threading.Lock()


@dataclass(frozen=True)
class Verdict:
    """Whether a login try may check its password now; if not, how long to wait."""

    allowed: bool
    retry_after: int = 0        # whole seconds, when not allowed
    slow: bool = False          # the name is over its ceiling: wait NAME_SLOWDOWN first


def delay_after(tries: int) -> timedelta:
    """How long the next try of a pair waits after `tries` counted tries."""
    if tries <= FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(tries - FREE_FAILURES - 1, 20)), MAX_DELAY)


def _pair_key(name: str, address: str) -> str:
    return f"pair:{address[:64]}:{name[:128]}"


def _name_key(name: str) -> str:
    return f"name:{name[:128]}"


def _count(session: Session, key: str, now: datetime, only_if_free: bool) -> int | None:
    """Count one try of `key` atomically; None when `only_if_free` and the key must still wait."""
    insert = Dialect.of(session).insert(LoginCounter)
    table = LoginCounter.__table__
    stmt = insert.values(key=key, tries=1, last_at=now, blocked_until=now).on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"tries": case((table.c.last_at < now - WINDOW, 1), else_=table.c.tries + 1),
              "last_at": now},
        where=(table.c.blocked_until <= now) if only_if_free else None,
    ).returning(table.c.tries)
    return session.execute(stmt).scalar()


def reserve(db: Database, name: str, address: str, now: datetime) -> Verdict:
    """Count a login try of `name` from `address`; say whether its password may be checked."""
    pair = _pair_key(name, address)
    with nullcontext() if Dialect.of(db).pg else _SQLITE_WRITES, db.session(write=True) as session:
        tries = _count(session, pair, now, only_if_free=True)
        if tries is None:
            until = session.scalar(select(LoginCounter.blocked_until).where(LoginCounter.key == pair))
            wait = (until - now).total_seconds() if until else 1
            return Verdict(False, retry_after=max(1, int(wait + 0.999)))
        session.execute(update(LoginCounter).where(LoginCounter.key == pair)
                        .values(blocked_until=now + delay_after(tries)))
        name_tries = _count(session, _name_key(name), now, only_if_free=False) or 0
        session.execute(delete(LoginCounter).where(LoginCounter.last_at < now - WINDOW))
    return Verdict(True, slow=name_tries > NAME_CEILING)


def succeeded(db: Database, name: str, address: str) -> None:
    """Forget the pair's tries and take this one back from the name's count."""
    with db.session(write=True) as session:
        session.execute(delete(LoginCounter).where(LoginCounter.key == _pair_key(name, address)))
        session.execute(update(LoginCounter).where(LoginCounter.key == _name_key(name),
                                                   LoginCounter.tries > 0)
                        .values(tries=LoginCounter.tries - 1))

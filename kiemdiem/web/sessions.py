"""Monitor sessions held on the server, so that they can be ended.

The cookie carries a random token; the database keeps only its SHA-256 (a copy of the
database does not give anyone a session) with the user, when it started and when it ends.
Every request looks its session up: logging out deletes the row, a password change deletes
the user's other sessions, disabling an account deletes all of them. A session ends at
`expires_at` however active it is (the absolute lifetime, `KIEMDIEM_SESSION_HOURS`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from kiemdiem.web.accounts import Viewer, hash_password
from workflow.db import Database, affected
from workflow.errors import BadInput
from workflow.models import Unit, User, WebSession

#: `last_seen_at` is written at most this often (a write per page view would queue on SQLite)
SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class Current:
    """A request's session: who it is and which session row (to keep it on a password change)."""

    viewer: Viewer
    session_id: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db: Database, user_id: int, address: str, agent: str, now: datetime,
                 lifetime: timedelta) -> str:
    """Start a session for `user_id` and return the token the cookie carries."""
    token = secrets.token_urlsafe(32)
    with db.session(write=True) as session:
        session.add(WebSession(id=_digest(token), user_id=user_id, created_at=now,
                               expires_at=now + lifetime, last_seen_at=now,
                               address=address[:64], agent=agent[:128]))
        session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        session.execute(update(User).where(User.id == user_id).values(last_login_at=now))
    return token


def current(db: Database, token: str, now: datetime) -> Current | None:
    """The live session of `token`, or None once it was ended, expired or its user disabled."""
    sid = _digest(token)
    with db.session() as session:
        row = session.execute(_LIVE, {"sid": sid, "now": now}).first()
    if row is None:
        return None
    viewer = Viewer(row.user_id, row.name, row.unit_id, row.code, row.unit_name, row.path)
    if now - row.last_seen_at >= SEEN_RESOLUTION:
        with db.session(write=True) as session:
            session.execute(update(WebSession).where(WebSession.id == sid).values(last_seen_at=now))
    return Current(viewer, sid)


#: a live session with its user and the unit they may read, in one statement (not the user's
#: password hash)
_LIVE = (select(WebSession.last_seen_at, User.id.label("user_id"), User.name, Unit.id.label("unit_id"),
                Unit.code, Unit.name.label("unit_name"), Unit.path)
         .join(User, User.id == WebSession.user_id).join(Unit, Unit.id == User.unit_id)
         .where(WebSession.id == bindparam("sid"), WebSession.expires_at > bindparam("now"),
                User.active.is_(True)))


def end_session(db: Database, token: str) -> None:
    """Log out: the token no longer opens anything, whoever kept a copy of the cookie."""
    with db.session(write=True) as session:
        session.execute(delete(WebSession).where(WebSession.id == _digest(token)))


def list_sessions(db: Database, name: str, now: datetime) -> list[dict[str, object]]:
    """The live sessions of user `name`: when they started, were last seen, end; from where."""
    with db.session() as session:
        user_id = session.scalar(select(User.id).where(User.name == name))
        if user_id is None:
            raise BadInput("user.unknown", name=name)
        rows = session.execute(select(WebSession.created_at, WebSession.last_seen_at,
                                      WebSession.expires_at, WebSession.address, WebSession.agent)
                               .where(WebSession.user_id == user_id, WebSession.expires_at > now)
                               .order_by(WebSession.created_at))
        return [dict(row._mapping) for row in rows]


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise BadInput("user.unknown", name=name)
    return user


def set_password(db: Database, name: str, password: str, keep: str | None = None) -> int:
    """Replace a user's password and end their sessions but `keep` (the one changing it).

    Returns how many sessions ended: whoever learnt the old password is logged out.
    """
    password_hash = hash_password(password)
    with db.session(write=True) as session:
        user = _user(session, name)
        user.password_hash = password_hash
        query = delete(WebSession).where(WebSession.user_id == user.id)
        if keep is not None:
            query = query.where(WebSession.id != keep)
        return affected(session.execute(query))


def set_active(db: Database, name: str, active: bool) -> int:
    """Enable or disable an account; disabling ends its sessions (returns how many)."""
    with db.session(write=True) as session:
        user = _user(session, name)
        user.active = active
        if active:
            return 0
        return affected(session.execute(delete(WebSession).where(WebSession.user_id == user.id)))

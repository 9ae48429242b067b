"""Monitor accounts: who may log in, which subtree they see, and the login rate limit.

A user belongs to one unit and sees that unit and everything under it (`Unit.path`
prefix). Passwords are argon2id hashes (argon2-cffi). Failed logins are counted in the
database, not in memory, so several `serve` processes behind one load balancer share the
limit and a restart does not reset it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflow.clock import Clock
from workflow.db import Database
from workflow.errors import BadInput, Refused
from workflow.lookup import find_unit
from workflow.models import Base, Unit

HASHER = PasswordHasher()

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20
MIN_PASSWORD_LENGTH = 10


class User(Base):
    """A Ban Tổ chức officer who may read the monitor for the subtree of `unit_id`."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One try at logging in; failures within `LOGIN_WINDOW` count towards the limit."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_name_at", "name", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)


class WebKey(Base):
    """The secret that signs session cookies, made once and shared by every process."""

    __tablename__ = "web_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


@dataclass(frozen=True)
class Viewer:
    """The logged-in user as the pages need them: name and the subtree they may read."""

    id: int
    name: str
    unit_id: int
    unit_code: str
    unit_name: str
    unit_path: str


def generate_password() -> str:
    """Return a random password that is easy to read out over the phone (no 0/O, 1/l)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(14))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")


def add_user(db: Database, name: str, unit_code: str, password: str, clock: Clock) -> None:
    """Create a user of `unit_code`; refused if the name is taken."""
    name = name.strip()
    if not name or len(name) > 128 or any(c.isspace() for c in name):
        raise BadInput("A user name is 1–128 characters without spaces.")
    _check_password(password)
    with db.session(write=True) as session:
        unit = find_unit(session, unit_code)
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise Refused(f"There is already a user '{name}'; use `kiemdiem user password {name}`.")
        session.add(User(name=name, unit_id=unit.id, password_hash=HASHER.hash(password),
                         active=True, created_at=clock()))


def set_password(db: Database, name: str, password: str) -> None:
    """Replace a user's password (and re-enable the account)."""
    _check_password(password)
    with db.session(write=True) as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise BadInput(f"There is no user '{name}'.")
        user.password_hash = HASHER.hash(password)
        user.active = True


def list_users(db: Database) -> list[dict[str, object]]:
    with db.session() as session:
        rows = session.execute(select(User.name, Unit.code.label("unit"),
                                      Unit.name.label("unit_name"), User.active, User.last_login_at)
                               .join(Unit, Unit.id == User.unit_id).order_by(User.name))
        return [dict(row._mapping) for row in rows]


class TooManyAttempts(Exception):
    """Login refused without checking the password: too many recent failures."""


def _failures_since(session: Session, column, value: str, since: datetime) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.at >= since, LoginAttempt.ok.is_(False))) or 0


def authenticate(db: Database, name: str, password: str, ip: str, clock: Clock) -> Viewer | None:
    """Check a login; return the viewer, None for a wrong name or password.

    Raises `TooManyAttempts` when the name or the address has failed too often within
    `LOGIN_WINDOW`; a success clears the name's failures. Every attempt is recorded.
    """
    now = clock()
    since = now - LOGIN_WINDOW
    with db.session(write=True) as session:
        if (_failures_since(session, LoginAttempt.name, name, since) >= MAX_FAILURES_PER_USER
                or _failures_since(session, LoginAttempt.ip, ip, since) >= MAX_FAILURES_PER_IP):
            raise TooManyAttempts()
        user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
        ok = _verify(user.password_hash if user else _dummy_hash(), password) and user is not None
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=1)))
        if ok:
            session.execute(delete(LoginAttempt).where(LoginAttempt.name == name,
                                                       LoginAttempt.ok.is_(False)))
        session.add(LoginAttempt(name=name[:128], ip=ip[:64], at=now, ok=ok))
        if not ok or user is None:
            return None
        if HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = HASHER.hash(password)
        user.last_login_at = now
        return _viewer(session, user)


@cache
def _dummy_hash() -> str:
    """A hash checked when the name is unknown, so a wrong name costs as long as a wrong password."""
    return HASHER.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _viewer(session: Session, user: User) -> Viewer:
    unit = session.get(Unit, user.unit_id)
    assert unit is not None  # a foreign key
    return Viewer(user.id, user.name, unit.id, unit.code, unit.name, unit.path)


def load_viewer(db: Database, user_id: int) -> Viewer | None:
    """Return the viewer for a session's user id, or None if the account is gone or disabled."""
    with db.session() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            return None
        return _viewer(session, user)


def session_secret(db: Database, clock: Clock) -> str:
    """Return the cookie-signing secret stored in the database, creating it on first use."""
    with db.session() as session:
        secret = session.scalar(select(WebKey.secret).where(WebKey.id == 1))
    if secret is not None:
        return secret
    try:
        with db.session(write=True) as session:
            session.add(WebKey(id=1, secret=secrets.token_urlsafe(48), created_at=clock()))
    except IntegrityError:
        pass  # another process made it first: use theirs
    return session_secret(db, clock)

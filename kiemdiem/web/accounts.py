"""Monitor accounts: who may log in and which subtree they see.

A user belongs to one unit and sees that unit and everything under it (`Unit.path`
prefix). Passwords are argon2id hashes (argon2-cffi). Sessions are in `sessions.py`, the
login limit in `throttle.py`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from workflow.clock import Clock
from workflow.db import Database
from workflow.errors import BadInput, Refused
from workflow.lookup import find_unit
from workflow.models import Unit, User

HASHER = PasswordHasher()

MIN_PASSWORD_LENGTH = 10


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
        raise BadInput("user.password_short", count=MIN_PASSWORD_LENGTH)


def add_user(db: Database, name: str, unit_code: str, password: str, clock: Clock) -> None:
    """Create a user of `unit_code`; refused if the name is taken."""
    name = name.strip()
    if not name or len(name) > 128 or any(c.isspace() for c in name):
        raise BadInput("user.name_invalid")
    _check_password(password)
    with db.session(write=True) as session:
        unit = find_unit(session, unit_code)
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise Refused("user.exists", name=name)
        session.add(User(name=name, unit_id=unit.id, password_hash=HASHER.hash(password),
                         active=True, created_at=clock()))


def hash_password(password: str) -> str:
    """The argon2id hash of an acceptable password (refused when too short)."""
    _check_password(password)
    return HASHER.hash(password)


def list_users(db: Database) -> list[dict[str, object]]:
    with db.session() as session:
        rows = session.execute(select(User.name, Unit.code.label("unit"),
                                      Unit.name.label("unit_name"), User.active, User.last_login_at)
                               .join(Unit, Unit.id == User.unit_id).order_by(User.name))
        return [dict(row._mapping) for row in rows]


def check_password(db: Database, name: str, password: str) -> int | None:
    """Return the user id if `password` is the active user `name`'s, else None.

    The hash is checked outside any transaction (argon2 takes a third of a second on purpose:
    inside a write transaction a burst of logins held the database for everyone). An unknown
    name costs as long as a wrong password.
    """
    with db.session() as session:
        row = session.execute(select(User.id, User.password_hash)
                              .where(User.name == name, User.active.is_(True))).first()
    if not _verify(row.password_hash if row else _dummy_hash(), password) or row is None:
        return None
    if HASHER.check_needs_rehash(row.password_hash):
        with db.session(write=True) as session:
            session.execute(update(User).where(User.id == row.id)
                            .values(password_hash=HASHER.hash(password)))
    return row.id


@cache
def _dummy_hash() -> str:
    """A hash checked when the name is unknown, so a wrong name costs as long as a wrong password."""
    return HASHER.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False

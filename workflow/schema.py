"""Create or upgrade the schema with Alembic, without an alembic.ini on disk.

Each area of the project adds its own revision branch on top of `0001_core`; `upgrade`
applies every head, so the branches need no coordination.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from workflow.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database, target: str = "heads") -> list[str]:
    """Bring the schema to the newest revision of every branch (or to `target`, for tests of a
    migration's backfill); return the heads reached."""
    cfg = _config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
    return current_heads(db)


def downgrade(db: Database, target: str) -> list[str]:
    """Take the schema back to `target` (to undo an upgrade; tests of a migration's undo)."""
    cfg = _config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, target)
    return current_heads(db)


def current_heads(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def is_current(db: Database) -> bool:
    """Say whether every migration has been applied (the CLI asks for `init` otherwise)."""
    script = ScriptDirectory.from_config(_config())
    return set(current_heads(db)) == set(script.get_heads())

"""The migrations and the models describe the same schema, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

import kiemdiem.web.accounts  # noqa: F401  (the monitor's tables, compared too)
import notifiers.tokens  # noqa: F401  (the Zalo token table, compared too)
from workflow.models import Base
from workflow.results import models as results_models  # noqa: F401  (its tables are compared too)
from workflow.schema import is_current, upgrade


def test_migrations_match_models(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if d[0] != "remove_index"] == []


def test_upgrade_is_idempotent(db):
    assert is_current(db)
    upgrade(db)
    assert is_current(db)


def test_audit_log_refuses_update_and_delete(db):
    with db.session(write=True) as s:
        s.execute(text("INSERT INTO audit_log (at, actor, action) VALUES (CURRENT_TIMESTAMP, 'x', 'test')"))
    for statement in ("UPDATE audit_log SET actor = 'y'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"):
            with db.session(write=True) as s:
                s.execute(text(statement))

"""The migrations and the models describe the same schema, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DatabaseError

from workflow.db import Database
from workflow.models import AuditEntry, Base
from workflow.schema import downgrade, is_current, upgrade


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


def test_upgrading_backfills_when_advances_were_reached_and_keeps_the_log_append_only(db_url):
    database = Database(db_url)
    try:
        upgrade(database, "0001_core")
        with database.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO audit_log (at, actor, action, to_state, details) VALUES "
                "(:at, 'x', 'cycle.advance', 'reports_prepared', :paper), "
                "(:at, 'x', 'cycle.advance', 'cell_met', :plain), "
                "(:at, 'x', 'units.import', NULL, NULL)"),
                {"at": datetime(2026, 11, 20, 3, tzinfo=UTC),
                 "paper": '{"event": "prepare", "reached_at": "2026-11-09T16:00:00+07:00"}',
                 "plain": '{"event": "meet"}'})
        upgrade(database)
        with database.session() as s:
            reached = s.scalars(select(AuditEntry.reached_at).order_by(AuditEntry.id)).all()
        assert reached == [datetime(2026, 11, 9, 9, tzinfo=UTC), datetime(2026, 11, 20, 3, tzinfo=UTC), None]
        with pytest.raises(DatabaseError, match="append-only"):
            with database.session(write=True) as s:
                s.execute(text("UPDATE audit_log SET reached_at = NULL"))
    finally:
        database.dispose()


def _outbox_keys(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        return {fk["referred_table"] for fk in inspect(conn).get_foreign_keys("notifications")}


def test_the_outbox_loses_its_foreign_keys_keeps_its_rows_and_gets_them_back_on_downgrade(db_url):
    database = Database(db_url)
    try:
        upgrade(database, "0002_audit_reached_at")
        assert _outbox_keys(database) == {"campaigns", "cycles", "units"}
        with database.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO notifications (dedup_key, kind, channel, recipient, payload, status, "
                "attempts, next_attempt_at, created_at, updated_at) VALUES "
                "('k', 'late', 'file', 'a@b.vn', '{}', 'pending', 0, :at, :at, :at)"),
                {"at": datetime(2026, 11, 20, 3, tzinfo=UTC)})
        upgrade(database)
        assert _outbox_keys(database) == set()
        with database.engine.begin() as conn:  # an id nothing has: nothing checks it any more
            conn.execute(text("UPDATE notifications SET cycle_id = 999999"))
            conn.execute(text("UPDATE notifications SET cycle_id = NULL"))
        downgrade(database, "0002_audit_reached_at")
        assert _outbox_keys(database) == {"campaigns", "cycles", "units"}
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT dedup_key FROM notifications")).scalars().all() == ["k"]
        with pytest.raises(DatabaseError):
            with database.engine.begin() as conn:
                conn.execute(text("UPDATE notifications SET cycle_id = 999999"))
    finally:
        database.dispose()

"""Writers at once: of processes advancing the same cycle exactly one wins and the others are
refused cleanly; a SQLite writer queued too long is refused cleanly too."""

from __future__ import annotations

import subprocess
import sys
import threading

from sqlalchemy import text

import workflow.db
from tests.helpers import refused, run_json, seeded
from workflow.db import Database
from workflow.errors import Refused


def test_racing_processes_one_wins_and_the_rest_get_a_clean_refusal(db):
    seeded(db.url)
    command = [sys.executable, "-m", "kiemdiem", "--db", db.url, "--now", "2026-11-21T09:00",
               "advance", "GL-TS-T1", "--to", "reports_prepared"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]
    assert sorted(code for code, _, _ in results) == [0, 1, 1, 1, 1, 1], results
    for code, _, err in results:
        assert "Traceback" not in err and "database is locked" not in err
        if code == 1:
            assert err.startswith("Lỗi: GL-TS-T1")
    row = next(r for r in run_json(db.url, "status", "GL-TS-T1") if r["unit"] == "GL-TS-T1")
    assert row["state"] == "reports_prepared"


def test_a_sqlite_writer_waits_its_turn_and_is_refused_cleanly_past_the_busy_timeout(tmp_path, monkeypatch):
    """Writers queue on the lock file beside the database: one held up longer than the busy
    timeout gets the clean refusal, and the writer after it is not blocked by the one that
    gave up."""
    monkeypatch.setattr(workflow.db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    db = Database(f"sqlite:///{tmp_path / 'kiemdiem.db'}")
    with db.session(write=True) as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    holding, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with db.session(write=True) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            release.wait(30)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert holding.wait(30)
    with refused(Refused, "đang bận ghi"), db.session(write=True) as session:
        session.execute(text("INSERT INTO t VALUES (2)"))
    release.set()
    writer.join(30)
    with db.session(write=True) as session:
        session.execute(text("INSERT INTO t VALUES (3)"))
    with db.session() as session:
        assert session.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 3]
    db.dispose()

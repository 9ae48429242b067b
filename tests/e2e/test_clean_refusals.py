"""History that cannot have happened, and the edge cases that used to end in a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import run, seeded

NOW = "2026-11-21T09:00"


def test_advance_at_must_fall_in_the_campaign_year_and_after_the_previous_stage(db):
    seeded(db.url)
    too_early = run(db.url, "advance", "GL-TS-T1", "--to", "reports_prepared", "--at", "2020-01-01", now=NOW)
    assert too_early.exit_code == 2 and "Traceback" not in too_early.stderr
    assert "GL-TS-T1: thời điểm 01/01/2020 00:00 trước khi năm kiểm điểm 2026 bắt đầu (01/07/2026 00:00)" \
        in too_early.stderr
    done = run(db.url, "advance", "GL-TS-T1", "--to", "reports_prepared", "--at", "2026-11-20", now=NOW)
    assert done.exit_code == 0, done.stderr
    before = run(db.url, "advance", "GL-TS-T1", "--to", "cell_met", "--at", "2026-11-01", now=NOW)
    assert before.exit_code == 2
    assert "trước lúc bước trước (reports_prepared) được ghi nhận (20/11/2026 00:00)" in before.stderr
    future = run(db.url, "advance", "GL-TS-T1", "--to", "cell_met", "--at", "2026-11-29", now=NOW)
    assert future.exit_code == 2 and "còn ở tương lai" in future.stderr
    assert run(db.url, "advance", "GL-TS-T1", "--to", "cell_met", "--at", "2026-11-20T10:00",
               now=NOW).exit_code == 0


def test_a_code_in_lower_case_finds_its_unit_everywhere(db):
    seeded(db.url)
    status = run(db.url, "status", "gl-ts-t1", now=NOW)
    assert status.exit_code == 0, status.stderr
    assert "GL-TS-T1" in status.stdout
    assert run(db.url, "advance", "gl-ts-t1", "--to", "reports_prepared", now=NOW).exit_code == 0


def test_impossible_instants_and_drivers_are_one_sentence(db_url):
    for args in (["--now", "0001-01-01", "status"], ["--now", "9999-12-31T23:59", "status"]):
        result = run(db_url, *args)
        assert result.exit_code == 2 and "nằm ngoài 2000–2100" in result.stderr, result.stderr
    driver = run("postgresql+psycopg2://u@127.0.0.1/x", "status")
    assert driver.exit_code == 2 and "psycopg2" in driver.stderr and "Traceback" not in driver.stderr


def test_serve_refuses_a_database_that_was_never_initialised(tmp_path: Path):
    exe = Path(sys.executable).parent / "kiemdiem"
    result = subprocess.run([str(exe), "--db", f"sqlite:///{tmp_path / 'new.db'}", "serve", "--no-web"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "chạy `kiemdiem init` trước khi `serve`" in result.stderr and "Traceback" not in result.stderr

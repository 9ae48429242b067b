"""Two processes advancing the same cycle at once: exactly one wins, the other is refused cleanly."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import run_json, seeded


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

"""Corrupt and contradictory plan and unit files through the real CLI, on both backends.

Each must end with exit code 2, one sentence starting with "Lỗi:" (never a traceback),
and the database exactly as it was: no row lost, added or changed in any table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.generate import generate
from config.hierarchy import load_hierarchy
from tests.faults.ledger import difference, snapshot
from workflow.clock import system_clock
from workflow.db import Database
from workflow.units import import_units

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_UNITS = ROOT / "config" / "units" / "sample.csv"
PLAN = (ROOT / "config" / "plans" / "2026.yaml").read_text(encoding="utf-8")
HEADER = "code,name,level,parent,secretary,email,zalo_user_id,phone,has_committee\n"


def kiemdiem(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "kiemdiem"
    return subprocess.run([str(exe), "--db", db.url, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def sample(db: Database) -> Database:
    """The database holding the sample province (imported in-process: the CLI is what is tested)."""
    import_units(db, SAMPLE_UNITS, load_hierarchy("2025"), system_clock, "test")
    return db


def _refused_and_untouched(db: Database, *args: str) -> str:
    before = snapshot(db)
    result = kiemdiem(db, *args)
    changes = difference(before, snapshot(db))
    print(f"{' '.join(args[:2])}: exit {result.returncode}; lost/duplicated/changed: {changes or 'nothing'}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("Lỗi:") and "Traceback" not in result.stderr, result.stderr
    assert changes == {}
    return result.stderr


PLANS = {
    "yaml syntax": "year: 2026\ndeadlines: {cell: [unclosed\n",
    "binary garbage": "\x00\x01\x02\xff" * 50,
    "empty": "",
    "date that does not parse": PLAN.replace("2026-11-10", "2026-13-45"),
    "backwards within a level": PLAN.replace("forms_submitted: {before: 2026-11-20}",
                                             "forms_submitted: {before: 2026-11-01}"),
    "child level due after its parent": PLAN.replace("forms_submitted: {before: 2026-12-05}",
                                                     "forms_submitted: {before: 2026-12-28}"),
    "plan of another year": PLAN.replace("year: 2026", "year: 2027"),
}


@pytest.mark.parametrize("case", sorted(PLANS))
def test_a_bad_plan_creates_nothing(sample: Database, tmp_path: Path, case: str) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_bytes(PLANS[case].encode("utf-8", errors="surrogateescape"))
    _refused_and_untouched(sample, "campaign", "create", "2026", "--plan", str(plan))


UNIT_FILES = {
    "binary garbage": b"\x00\x9f\xff\xfe" * 100,
    "more cells than columns": (HEADER + "X1,A,province,,,,,,yes,extra,more\n").encode(),
    "cycle in the tree": (HEADER + "A,A,base,B,,,,,yes\nB,B,base,A,,,,,yes\n").encode(),
    "unknown parent": (HEADER + "C1,Chi bộ 1,cell,NOWHERE,,,,,no\n").encode(),
    "duplicate code": (HEADER + "P1,Tỉnh,province,,,,,,yes\nP1,Tỉnh,province,,,,,,yes\n").encode(),
    "cell directly under a province":
        (HEADER + "P9,Tỉnh,province,,,,,,yes\nC9,Chi bộ,cell,P9,,,,,no\n").encode(),
    "malformed email and phone": (HEADER + "P8,Tỉnh,province,,,a@@b,,12345,yes\n").encode(),
}


@pytest.mark.parametrize("case", sorted(UNIT_FILES))
def test_a_bad_unit_file_imports_nothing(sample: Database, tmp_path: Path, case: str) -> None:
    units = tmp_path / "units.csv"
    units.write_bytes(UNIT_FILES[case])
    _refused_and_untouched(sample, "units", "import", str(units))


def test_one_bad_row_at_the_end_of_a_big_file_imports_nothing(db: Database, tmp_path: Path) -> None:
    """3,000 good generated rows and a last row whose parent does not exist: all or nothing."""
    generate(tmp_path, units=3_000, seed=5)
    units = tmp_path / "units.csv"
    with units.open("a", encoding="utf-8") as handle:
        handle.write("ZZ-1,Chi bộ lạc,cell,ZZ-NOWHERE,,,,,no\n")
    stderr = _refused_and_untouched(db, "units", "import", str(units))
    assert "ZZ-NOWHERE" in stderr and "3002" in stderr  # the line number of the bad row

"""`advance` runs many times a day from office staff's terminals: it must start fast.

Its budget is 0.5 s in all (issue 2), and importing is most of it; `overdue --json` has 2 s
for the whole country. These tests run the real
command in a fresh interpreter and check that what only other commands need stays unloaded:
the plan and hierarchy models (pydantic, YAML), Alembic, the results rules and the
PostgreSQL dialect each cost tens of milliseconds of every start.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT, seeded

HEAVY = ("pydantic", "yaml", "alembic", "rich", "workflow.results.models", "workflow.units",
         "workflow.campaigns", "config.plan")

PROBE = """
import json, sys
from kiemdiem.cli import main
sys.argv = ["kiemdiem", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _loaded_by(*args: str) -> tuple[int, set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_advance_loads_nothing_that_only_other_commands_need(db):
    seeded(db.url)
    code, modules = _loaded_by("--db", db.url, "--now", "2026-11-05T09:00", "advance", "GL-TS-T1",
                               "--to", "reports_prepared")
    assert code in (0, None)
    assert "workflow.service" in modules
    heavy = HEAVY + (("sqlalchemy.dialects.postgresql",) if db.dialect == "sqlite" else ())
    assert [name for name in heavy if name in modules] == []


def test_overdue_json_loads_neither_the_plan_nor_the_hierarchy_models(db):
    seeded(db.url)
    code, modules = _loaded_by("--db", db.url, "--now", "2026-11-12T09:00", "overdue", "--json")
    assert code in (0, None)
    assert "workflow.queries" in modules
    assert [name for name in ("pydantic", "yaml", "alembic", "workflow.campaigns", "workflow.units",
                              "config.plan", "config.hierarchy") if name in modules] == []


def test_a_submission_still_asks_the_results_gate(db):
    seeded(db.url)
    code, modules = _loaded_by("--db", db.url, "--now", "2026-11-25T09:00", "advance", "GL-TS-T1",
                               "--to", "forms_submitted", "--force", "--reason", "kiểm tra")
    assert code in (0, None) and "workflow.results.gate" in modules

"""A generated country imports and gets its campaign through the real use cases, on both backends."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.generate import generate
from config.hierarchy import load_hierarchy
from workflow.campaigns import create_campaign
from workflow.clock import fixed_clock
from workflow.db import Database
from workflow.models import Cycle, Unit
from workflow.units import import_units


def test_generated_tree_imports_and_issues_its_plan(db: Database, tmp_path: Path) -> None:
    summary = generate(tmp_path, units=2_500, seed=3)
    clock = fixed_clock(datetime.fromisoformat("2026-10-01T08:00:00+07:00"))
    hierarchy = load_hierarchy("2025")
    report = import_units(db, tmp_path / "units.csv", hierarchy, clock, "bench")
    assert len(report.created) == summary.units
    created = create_campaign(db, 2026, tmp_path / "plan.yaml", hierarchy, clock, "bench")
    assert created.cycles_added == summary.units
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == summary.units
        assert session.scalar(select(func.count()).select_from(Cycle)) == summary.units

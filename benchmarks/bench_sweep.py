"""Benchmark the sweep on 300,000 cycles on PostgreSQL (issue 3's targets).

    .venv/bin/python -m benchmarks.bench_sweep [--units 300000] [--pg URL] [--keep]

Builds its own tree with one set-based INSERT per level (1 province, 30 districts, 300
bases, the rest cells, every unit with an email), issues the 2026 sample plan through the
core's `create_campaign`, and moves every cell to `cell_met` so that at 20/11/2026 01:00
each cell owes exactly one late notice (forms before 20/11). Then it times:

1. a full sweep (one transaction) writing ~300,000 late notices      — target < 15 s
2. the same sweep again, writing nothing                              — target < 2 s
3. the bare SQL query finding the same late (cycle, stage) pairs      — the baseline; 2 ≤ 3× 3
4. the scheduler's timetable (job count stays < 200)

and prints a Markdown section for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select, text

from config.hierarchy import load_hierarchy
from schedules.sweep import SWEEP_WORK_MEM, sweep
from schedules.timetable import load_timetable
from workflow.campaigns import create_campaign, get_campaign
from workflow.db import Database
from workflow.models import Notification
from workflow.queries import owed_deadlines
from workflow.schema import upgrade
from workflow.stages import RANK

ROOT = Path(__file__).parents[1]
PLAN = ROOT / "config" / "plans" / "2026.yaml"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=HCM)
DISTRICTS, BASES = 30, 300

UNITS_SQL = """
INSERT INTO units (id, code, name, level, parent_id, path, depth, secretary, email, phone,
                   has_committee, active, created_at, updated_at)
SELECT i, {code}, {name}, :level, {parent}, {path}, :depth, 'Bí thư ' || i,
       'u' || i || '@example.vn', '09' || lpad(i::text, 8, '0'), {committee}, true, :at, :at
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i
"""


def build(url: str, units: int) -> Database:
    """Create a fresh database with `units` units, the 2026 campaign and cells at cell_met."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    db = Database(url)
    upgrade(db)
    first_base, first_cell = 2 + DISTRICTS, 2 + DISTRICTS + BASES
    levels = [
        ("province", 0, 1, 1, "NULL", "'/1/'", "true"),
        ("district", 1, 2, first_base - 1, "1", "'/1/' || i || '/'", "true"),
        ("base", 2, first_base, first_cell - 1, f"2 + (i - {first_base}) % {DISTRICTS}",
         f"'/1/' || (2 + (i - {first_base}) % {DISTRICTS}) || '/' || i || '/'", "true"),
        ("cell", 3, first_cell, units, f"{first_base} + (i - {first_cell}) % {BASES}",
         f"'/1/' || (2 + ({first_base} + (i - {first_cell}) % {BASES} - {first_base}) % {DISTRICTS})"
         f" || '/' || ({first_base} + (i - {first_cell}) % {BASES}) || '/' || i || '/'",
         "(i % 3 = 0)"),
    ]
    started = time.perf_counter()
    with db.session(write=True) as s:
        for level, depth, first, last, parent, path, committee in levels:
            sql = UNITS_SQL.format(code=f"'{level[0].upper()}' || i", name=f"'{level} ' || i",
                                   parent=parent, path=path, committee=committee)
            s.execute(text(sql), {"level": level, "depth": depth, "first": first, "last": last,
                                  "at": datetime.now(UTC)})
        s.execute(text("SELECT setval('units_id_seq', :n)"), {"n": units})
    report = create_campaign(db, 2026, PLAN, load_hierarchy("four_tier"),
                             lambda: datetime(2026, 10, 1, tzinfo=UTC), "bench")
    with db.session(write=True) as s:
        s.execute(text("UPDATE cycles SET state = 'cell_met', stage_rank = :r FROM units "
                       "WHERE units.id = cycles.unit_id AND units.level = 'cell'"),
                  {"r": RANK["cell_met"]})
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    print(f"built {units} units, {report.cycles_added} cycles in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return db


def timed_sweep(db: Database) -> tuple[float, int]:
    started = time.perf_counter()
    with db.session(write=True) as s:
        report = sweep(s, NOW, ("file",), "https://kiemdiem.example.vn")
    return time.perf_counter() - started, report.total


def bare_query(db: Database) -> tuple[float, int]:
    """The late (cycle, stage) pairs as of NOW, counted: what any sweep must at least find."""
    with db.session() as s:
        s.execute(text(f"SET LOCAL work_mem = '{SWEEP_WORK_MEM}'"))  # as the sweep has
        campaign = get_campaign(s, 2026)
        owed = owed_deadlines(campaign).subquery()
        started = time.perf_counter()
        count = s.scalar(select(func.count()).select_from(owed).where(owed.c.due_at <= NOW))
        return time.perf_counter() - started, count or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/kiemdiem_bench_sweep")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the no-op sweep and the bare query")
    args = parser.parse_args(argv)
    db = build(args.pg, args.units)
    full_s, written = timed_sweep(db)
    again = [timed_sweep(db) for _ in range(args.repeat)]
    bare = [bare_query(db) for _ in range(args.repeat)]
    with db.session() as s:
        outbox = s.scalar(select(func.count()).select_from(Notification))
        started = time.perf_counter()
        jobs = len(load_timetable(s, datetime(2026, 11, 1, tzinfo=HCM)).instants)
        timetable_s = time.perf_counter() - started
    noop_s = statistics.median(t for t, _ in again)
    bare_s = statistics.median(t for t, _ in bare)
    assert all(n == 0 for _, n in again), "a repeated sweep wrote rows"
    rows = [
        ("full sweep (late notices written)", f"{full_s:.2f} s", f"{written:,}", "< 15 s"),
        ("repeated sweep (writes nothing), median", f"{noop_s:.2f} s", "0", "< 2 s"),
        ("bare SQL: late (cycle, stage) pairs, median", f"{bare_s:.2f} s", f"{bare[0][1]:,}", "—"),
        ("repeated sweep / bare query", f"{noop_s / bare_s:.2f}×", "", "≤ 3×"),
        ("scheduler timetable from 1/11 (jobs)", f"{timetable_s * 1000:.0f} ms", f"{jobs}", "< 200 jobs"),
    ]
    print(f"\n### Sweep on {args.units:,} cycles (PostgreSQL, as of 20/11/2026 01:00 +07:00)\n")
    print("| measure | time | rows | target |\n| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nOutbox after the runs: {outbox:,} rows. Command: `.venv/bin/python -m "
          f"benchmarks.bench_sweep --units {args.units}`.")
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

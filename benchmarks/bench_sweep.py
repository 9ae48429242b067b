"""Benchmark the sweep on 300,000 cycles on PostgreSQL (issue 3's targets) and its growth (issue 7).

    .venv/bin/python -m benchmarks.bench_sweep [--units 300000] [--pg URL] [--repeat 5]
                                               [--sizes 10000,30000,100000]

Builds its own tree with one set-based INSERT per level (1 province, 30 districts, 300
bases, the rest cells, every unit with an email), issues the 2026 sample plan through the
core's `create_campaign`, and moves every cell to `cell_met` so that at 20/11/2026 01:00
each cell owes exactly one late notice (forms before 20/11). Then it times:

1. a full sweep (one transaction) writing ~300,000 late notices      — target < 15 s
2. the same sweep again, writing nothing                              — target < 2 s
3. the bare SQL query finding the same late (cycle, stage) pairs      — the baseline; 2 ≤ 3× 3
4. the scheduler's timetable (job count stays < 200)

and writes them into the `sweep` section of benchmarks/RESULTS.md; then it builds smaller
trees (`--sizes`) and writes the `sweep-growth` section and `benchmarks/growth_sweep.png`:
full and repeated sweep time and peak memory against the number of cycles.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select, text

from benchmarks.harness import Report, Timing, growth_plot, time_callable, update_section
from config.hierarchy import load_hierarchy
from schedules.sweep import SWEEP_WORK_MEM, sweep
from schedules.timetable import load_timetable
from workflow.campaigns import create_campaign
from workflow.db import Database
from workflow.lookup import get_campaign
from workflow.models import Notification
from workflow.queries import owed_deadlines
from workflow.schema import upgrade
from workflow.stages import RANK

ROOT = Path(__file__).parents[1]
PLAN = ROOT / "config" / "plans" / "2026.yaml"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=HCM)
DISTRICTS, BASES = 30, 300
PNG = Path(__file__).parent / "growth_sweep.png"

UNITS_SQL = """
INSERT INTO units (id, code, name, level, parent_id, path, depth, secretary, email, phone,
                   has_committee, active, created_at, updated_at)
SELECT i, {code}, {name}, :level, {parent}, {path}, :depth, 'Bí thư ' || i,
       'u' || i || '@example.vn', '09' || lpad(i::text, 8, '0'), {committee}, true, :at, :at
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i
"""


def build(url: str, units: int, burst: bool = False) -> Database:
    """Create a fresh database with `units` units, the 2026 campaign and cells at cell_met
    (`burst`: left at plan_issued, late on every stage)."""
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
    if not burst:
        with db.session(write=True) as s:
            s.execute(text("UPDATE cycles SET state = 'cell_met', stage_rank = :r FROM units "
                           "WHERE units.id = cycles.unit_id AND units.level = 'cell'"),
                      {"r": RANK["cell_met"]})
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    print(f"built {units} units, {report.cycles_added} cycles in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return db


def timed_sweep(db: Database, runs: int, label: str) -> Timing:
    """Sweep `runs` times, one transaction each; fail if a repeated sweep writes anything."""
    written: list[int] = []

    def once() -> None:
        with db.session(write=True) as s:
            written.append(sweep(s, NOW, ("file",), "https://kiemdiem.example.vn").total)

    timing = time_callable(once, runs=runs, label=label)
    timing.output = f"{written[0]:,}"
    if any(written[1:]) or (label.startswith("repeated") and written[0]):
        raise RuntimeError(f"{label}: a repeated sweep wrote rows ({written})")
    return timing


def bare_query(db: Database, runs: int) -> Timing:
    """The late (cycle, stage) pairs as of NOW, counted: what any sweep must at least find."""
    counts: list[int] = []
    with db.session() as s:
        s.execute(text(f"SET LOCAL work_mem = '{SWEEP_WORK_MEM}'"))  # as the sweep has
        campaign = get_campaign(s, 2026)
        owed = owed_deadlines(campaign).subquery()
        query = select(func.count()).select_from(owed).where(owed.c.due_at <= NOW)
        timing = time_callable(lambda: counts.append(s.scalar(query) or 0), runs=runs,
                               label="bare SQL: count of the late (cycle, stage) pairs")
    timing.output = f"{counts[0]:,}"
    return timing


def measure(url: str, units: int, repeat: int) -> tuple[Database, Timing, Timing]:
    """Build a tree of `units`, then time one full sweep and `repeat` sweeps that write nothing."""
    db = build(url, units)
    return db, timed_sweep(db, 1, "full sweep"), timed_sweep(db, repeat, "repeated sweep")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/kiemdiem_bench_sweep")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the no-op sweep and the bare query")
    parser.add_argument("--sizes", default="10000,30000,100000",
                        help="smaller trees for the growth plot ('' to skip it)")
    args = parser.parse_args(argv)
    report = Report("sweep", f"Schedules: the sweep on {args.units:,} cycles, PostgreSQL (issue 3)")
    db, full, again = measure(args.pg, args.units, args.repeat)
    bare = bare_query(db, args.repeat)
    with db.session() as s:
        outbox = s.scalar(select(func.count()).select_from(Notification))
        jobs = len(load_timetable(s, datetime(2026, 11, 1, tzinfo=HCM)).instants)
    db.dispose()
    report.add(f"full sweep, {full.output} late notices written", full, limit_s=15)
    report.add("repeated sweep, writes nothing", again, limit_s=2, baseline=bare, max_ratio=3)
    report.note(NOTES.format(units=args.units, cycles=bare.output, outbox=outbox, jobs=jobs))
    report.write()
    growth({args.units: (full, again)}, args)
    return 0


def growth(known: dict[int, tuple[Timing, Timing]], args: argparse.Namespace) -> None:
    """The full and the repeated sweep at each size: a table and a PNG of time and memory."""
    results = dict(known)
    for size in (int(s) for s in args.sizes.split(",") if s):
        if size not in results:
            db, full, again = measure(args.pg, size, args.repeat)
            db.dispose()
            results[size] = (full, again)
    lines = ["## Schedules: the sweep as the tree grows (issue 7)", "",
             f"![sweep time and memory against cycles]({PNG.name})", "",
             "| cycles | full sweep s | full sweep MB | repeated sweep s (median) | repeated sweep MB |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for size, (full, again) in sorted(results.items()):
        lines.append(f"| {size:,} | {full.median:.2f} | {full.peak:.0f} | {again.median:.2f} | {again.peak:.0f} |")
    lines += ["", "Memory is the benchmark process's peak resident set: the sweep is a few "
              "set-based statements, so the rows stay in PostgreSQL and the process stays flat."]
    update_section(Path(__file__).parent / "RESULTS.md", "sweep-growth", "\n".join(lines))
    growth_plot(PNG, "kiemdiem sweep (PostgreSQL): cost as the tree grows", "cycles",
                {"full sweep (writes a late notice per cell)": {s: r[0] for s, r in results.items()},
                 "repeated sweep (writes nothing)": {s: r[1] for s, r in results.items()}})


NOTES = """\
The script builds its own tree (1 province, 30 districts, 300 bases, the rest cells; {units:,} \
units), issues `config/plans/2026.yaml` through `create_campaign`, puts every cell at \
`cell_met`, and sweeps as of 20/11/2026 01:00 (+07:00), when every cell owes exactly one \
late notice (forms before 20/11), on the `file` channel; each sweep is one transaction. \
The baseline is the bare SQL that finds the same {cycles} late (cycle, stage) pairs \
(`owed_deadlines` under `count(*)`, with the sweep's `work_mem`): the cheapest possible \
query for what any sweep must at least find. Outbox after the runs: {outbox:,} rows; the \
scheduler's timetable from 1/11 holds {jobs} jobs (target < 200).

Where the time goes. A sweep is two set-based steps in one transaction. First the day's owed \
notices (each (cycle, stage) whose reminder, late or repeat window holds, less those the \
`notices` ledger already has: an index probe per owed row) are staged in a temporary table \
and added to the ledger. Then one bundle per recipient, channel and local day goes to the \
outbox: its payload is built by the database's JSON functions from deadline items computed \
once per milestone in Python and the unit's values. A repeated sweep finds every owed row \
already told and writes nothing, so it costs about the bare query's join plus those probes. \
JIT is off for the sweep's transaction on PostgreSQL: compiling the staged selects took longer \
than running them.
"""


if __name__ == "__main__":
    sys.exit(main())

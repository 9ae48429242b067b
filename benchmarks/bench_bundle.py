"""Benchmark the bundled sweep's first-day burst on 300,000 cycles on PostgreSQL (issue 14).

    .venv/bin/python -m benchmarks.bench_bundle [--units 300000] [--pg URL] [--repeat 3]
                                                [--before-tree DIR]

Builds the tree of `benchmarks.bench_sweep` but leaves every cell at `plan_issued`, so that
at 29/11/2026 09:00 each cell is late on three stages (reports, meeting, forms), and times:

1. the first sweep of a fresh database (the national burst): at most one outbox row per
   recipient and channel                                                 — target < 15 s
2. the same sweep again, writing nothing                                  — target < 2 s
3. the bare SQL finding the same owed (cycle, stage) pairs                — 2 ≤ 3× 3

With `--before-tree DIR` (a checkout of earlier code, e.g. `git archive main`), the same
two sweeps of that code run first on a copy of the same database, in the same run.
Writes the `bundle` section of benchmarks/RESULTS.md (only that section).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select, text

from benchmarks.bench_sweep import build
from benchmarks.harness import RESULTS, Report, Timing, time_callable, update_section
from schedules.sweep import SWEEP_WORK_MEM, sweep
from workflow.lookup import get_campaign
from workflow.models import Notice, Notification
from workflow.queries import owed_deadlines

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=HCM)
#: times one sweep of whatever code is on sys.path; prints {"s": seconds, "written": n}
BEFORE_DRIVER = """
import json, sys, time
from datetime import datetime
from zoneinfo import ZoneInfo
from schedules.sweep import sweep
from workflow.db import Database
db = Database(sys.argv[1])
started = time.perf_counter()
with db.session(write=True) as s:
    written = sweep(s, datetime(2026, 11, 29, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), ("file",),
                    "https://kiemdiem.example.vn").total
print(json.dumps({"s": time.perf_counter() - started, "written": written}))
"""


def copy_database(url: str, copy: str) -> str:
    """A copy of the database at `url` named `copy` (CREATE DATABASE … TEMPLATE)."""
    base, name = url.rsplit("/", 1)
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
    admin.dispose()
    return f"{base}/{copy}"


def before(tree: Path, url: str, runs: int) -> tuple[Timing, Timing]:
    """The code in `tree` sweeping a copy of the database: the burst, then `runs` repeats."""
    env = {**os.environ, "PYTHONPATH": str(tree)}

    def once() -> dict[str, float]:
        out = subprocess.run([sys.executable, "-c", BEFORE_DRIVER, url], env=env, cwd=tree,
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    first = once()
    full = Timing("before: first sweep")
    full.seconds.append(first["s"])
    full.peak_mb.append(0.0)
    full.output = f"{int(first['written']):,}"
    again = Timing("before: repeated sweep")
    for _ in range(runs):
        result = once()
        again.seconds.append(result["s"])
        again.peak_mb.append(0.0)
    return full, again


def bare_query(db, runs: int) -> Timing:
    """The owed (cycle, stage) pairs due by the sweep's widest window, counted."""
    counts: list[int] = []
    with db.session() as s:
        s.execute(text(f"SET LOCAL work_mem = '{SWEEP_WORK_MEM}'"))
        owed = owed_deadlines(get_campaign(s, 2026)).subquery()
        query = select(func.count()).select_from(owed).where(owed.c.due_at <= NOW)
        timing = time_callable(lambda: counts.append(s.scalar(query) or 0), runs=runs,
                               label="bare SQL: count of the late (cycle, stage) pairs")
    timing.output = f"{counts[0]:,}"
    return timing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/kiemdiem_bench_bundle")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before-tree", type=Path, default=None)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    db = build(args.pg, args.units, burst=True)
    report = Report("bundle", f"Schedules: the first-day burst, bundled, on {args.units:,} cycles, "
                              "PostgreSQL (issue 14)")
    if args.before_tree is not None:
        db.engine.dispose()  # no session may hold the template; the pool reconnects after
        copy = copy_database(args.pg, args.pg.rsplit("/", 1)[1] + "_before")
        full_before, again_before = before(args.before_tree, copy, args.repeat)
        report.add(f"before ({args.before_tree.name}): first sweep, {full_before.output} outbox rows written",
                   full_before, limit_s=15)
        report.add(f"before ({args.before_tree.name}): repeated sweep, writes nothing", again_before, limit_s=2)
    written: list[int] = []

    def once() -> None:
        with db.session(write=True) as s:
            written.append(sweep(s, NOW, ("file",), "https://kiemdiem.example.vn").total)

    full = time_callable(once, runs=1, label="first sweep")
    again = time_callable(once, runs=args.repeat, label="repeated sweep")
    if any(written[1:]):
        raise RuntimeError(f"a repeated sweep wrote rows ({written})")
    bare = bare_query(db, args.repeat)
    with db.session() as s:
        rows = s.scalar(select(func.count()).select_from(Notification))
        notices = s.scalar(select(func.count()).select_from(Notice))
        bundles = (select(func.count().label("n")).select_from(Notification)
                   .group_by(Notification.recipient, Notification.channel,
                             Notification.kind == "escalation").subquery())
        per_recipient = s.scalar(select(func.max(bundles.c.n)))
    db.dispose()
    report.add(f"after: first sweep, {written[0]:,} bundles written ({notices:,} notices)", full,
               limit_s=15)
    report.add("after: repeated sweep, writes nothing", again, limit_s=2, baseline=bare, max_ratio=3)
    report.note(NOTES.format(units=args.units, rows=rows, notices=notices, per=per_recipient,
                             pairs=bare.output, load=", ".join(f"{x:.1f}" for x in load),
                             end=", ".join(f"{x:.1f}" for x in os.getloadavg())))
    update_section(RESULTS, report.section, report.markdown())
    return 0


NOTES = """\
The tree of `bench_sweep` ({units:,} units) with every cell left at `plan_issued`; each sweep \
runs as of 29/11/2026 09:00 (+07:00) on the `file` channel, one transaction. Every cell then \
owes three late notices: before bundling each was its own outbox row; now they are notices \
in the ledger ({notices:,}) carried by one outbox row per unit and channel ({rows:,} rows in \
all, escalations to parents included; at most {per} per recipient, channel and kind of \
bundle). The baseline counts the {pairs} owed (cycle, stage) pairs due by then \
(`owed_deadlines`). "Before", when measured, is the code of `--before-tree` sweeping a \
copy of the same database in the same run. Load average {load} at the start, {end} at the end: the machine \
is shared by several sessions, so the figures are noisy.
"""


if __name__ == "__main__":
    sys.exit(main())

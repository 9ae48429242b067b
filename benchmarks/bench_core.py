"""Core benchmarks (issue 2) on SQLite and PostgreSQL, through the real CLI, and their growth.

    python -m benchmarks.bench_core [--units 300000] [--runs 3] [--backends sqlite,postgresql]
                                    [--sizes 10000,30000,100000,300000] [--only serve]

Targets: `units import` of 300,000 units < 60 s; `campaign create` < 60 s; `overdue --json`
over 300,000 cycles < 2 s and ≤ 3× the bare SQL query finding the same rows; one `advance`
< 0.5 s including start-up (baseline `python -c 'import sqlalchemy'`). Baselines of import
and campaign create: the same rows written by plain `executemany` / `INSERT … SELECT` through
the raw driver. The growth section times import, campaign create and overdue at each size
and draws `benchmarks/growth_core.png` (time and peak memory against units).
"""

from __future__ import annotations

import argparse
import csv
import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from benchmarks.datasets import BACKENDS, YEAR, cli, dataset, empty_database, loaded_database, run
from benchmarks.harness import (
    Report,
    Timing,
    growth_plot,
    peak_resident_mb,
    time_callable,
    time_command,
    update_section,
)

PNG = Path(__file__).parent / "growth_core.png"
#: how long `serve` may take to finish its sweep after SIGINT (a first sweep of 300,000 cycles)
SERVE_STOP_SECONDS = 180
SERVE_NOTE = (
    "Peak is the process's high-water mark (`VmHWM`) until it exits: its first sweep "
    "(catch-up) runs to the end after SIGINT. It was 531 MB on SQLite: SQLite builds the "
    "office escalation's `json_group_array` in this process, and it listed every late unit "
    "of the country (≈500 MB for 826,000 late stages); the daily digest loaded every late row "
    "the same way (777 MB, outside this 60 s window: it is checked every 15 minutes). Both now "
    "list the 200 latest and count the rest (`late_count`), linking to the full list.")
LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
#: two days after the cells' `reports_prepared` deadline (10/11): every cell still owes it
AS_OF = "2026-11-12T08:00:00+07:00"

OVERDUE_SQL = """
SELECT * FROM (
  SELECT u.code, u.name, u.level, m.stage, m.due_at, u.secretary, m.stage_rank
  FROM milestones m
  JOIN cycles c ON c.campaign_id = m.campaign_id AND c.stage_rank < m.stage_rank
  JOIN units u ON u.id = c.unit_id AND u.level = m.level
  WHERE m.campaign_id = {campaign} AND m.due_at <= {as_of} AND u.active
    AND (c.stages_mask & (1 << m.stage_rank)) != 0
    AND NOT EXISTS (SELECT 1 FROM deadline_extensions e WHERE e.cycle_id = c.id AND e.stage = m.stage)
  UNION ALL
  SELECT u.code, u.name, u.level, e.stage, e.due_at, u.secretary, e.stage_rank
  FROM deadline_extensions e JOIN cycles c ON c.id = e.cycle_id JOIN units u ON u.id = c.unit_id
  WHERE c.campaign_id = {campaign} AND e.due_at <= {as_of} AND u.active
    AND c.stage_rank < e.stage_rank AND (c.stages_mask & (1 << e.stage_rank)) != 0
) AS late
ORDER BY due_at, code, stage_rank
"""


class Raw:
    """A connection through the bare driver (sqlite3 or psycopg): the physical baseline."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self.conn = sqlite3.connect(url.removeprefix("sqlite:///")) if self.sqlite else \
            psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        self.mark = "?" if self.sqlite else "%s"

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        cur = self.conn.cursor()
        if params:
            cur.execute(sql.replace("%s", self.mark), params)
        else:  # psycopg reads '%' as a placeholder only when given parameters
            cur.execute(sql)
        return cur.fetchall()

    def execute(self, sql: str) -> None:
        self.conn.cursor().execute(sql)
        self.conn.commit()

    def as_of(self, iso: str) -> object:
        instant = datetime.fromisoformat(iso).astimezone(UTC)
        # SQLAlchemy stores SQLite instants as naive UTC text
        return instant.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else instant

    def close(self) -> None:
        self.conn.close()


def bare_import(url: str, units_csv: Path) -> None:
    """The import's physical floor: read the CSV, insert the rows with `executemany`."""
    raw = Raw(url)
    raw.execute("DROP TABLE IF EXISTS bench_bare_units")
    raw.execute("CREATE TABLE bench_bare_units (code varchar(64), name varchar(255), level varchar(32),"
                " parent varchar(64), secretary varchar(255), email varchar(255),"
                " zalo_user_id varchar(64), phone varchar(32), has_committee varchar(8))")
    with units_csv.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = list(reader)
    cur = raw.conn.cursor()
    cur.executemany(f"INSERT INTO bench_bare_units VALUES ({', '.join([raw.mark] * 9)})", rows)
    raw.conn.commit()
    raw.execute("DROP TABLE bench_bare_units")
    raw.close()


def bare_cycles(url: str) -> None:
    """Campaign creation's physical floor: copy one row per unit with `INSERT … SELECT`."""
    raw = Raw(url)
    raw.execute("DROP TABLE IF EXISTS bench_bare_cycles")
    raw.execute("CREATE TABLE bench_bare_cycles (unit_id integer, state varchar(32), stage_rank integer)")
    raw.execute("INSERT INTO bench_bare_cycles SELECT id, 'plan_issued', 0 FROM units WHERE active")
    raw.execute("DROP TABLE bench_bare_cycles")
    raw.close()


def bare_overdue(url: str, as_of: str) -> int:
    """The bare SQL that finds the rows `overdue --json` prints, fetched through the driver."""
    raw = Raw(url)
    campaign = raw.rows("SELECT id FROM campaigns WHERE year = %s", (YEAR,))[0][0]
    rows = raw.rows(OVERDUE_SQL.format(campaign=campaign, as_of="%s"), (raw.as_of(as_of),) * 2)
    raw.close()
    return len(rows)


def load(backend: str, units: int, runs: int, report: Report | None) -> tuple[str, Timing, Timing]:
    """Import the generated tree and create its campaign `runs` times; the last database stays."""
    data = dataset(units)
    imports, creates = Timing(f"units import {units}"), Timing(f"campaign create {units}")
    url = ""
    for _ in range(runs):
        url = empty_database(backend)
        run(url, "init")
        for timing, args in ((imports, ("units", "import", str(data / "units.csv"))),
                             (creates, ("campaign", "create", str(YEAR), "--plan", str(data / "plan.yaml")))):
            once = time_command(cli(url, *args), runs=1)
            timing.seconds += once.seconds
            timing.peak_mb += once.peak_mb
    if report is not None:
        base_import = time_callable(lambda: bare_import(url, data / "units.csv"), runs=runs,
                                    label="executemany of the CSV rows")
        base_cycles = time_callable(lambda: bare_cycles(url), runs=runs, label="INSERT … SELECT per unit")
        report.add(f"units import, {units:,} units", imports, limit_s=60, baseline=base_import)
        report.add(f"campaign create, {units:,} cycles", creates, limit_s=60, baseline=base_cycles)
    return url, imports, creates


def overdue(url: str, runs: int, report: Report | None, note: str) -> Timing:
    """Time `overdue --json` against the bare query; check both found the same rows."""
    timing = time_command(cli(url, "overdue", "--json", "--as-of", AS_OF), runs=runs,
                          label="overdue --json")
    printed = len(json.loads(timing.output))
    if report is not None:
        found: list[int] = []
        base = time_callable(lambda: found.append(bare_overdue(url, AS_OF)), runs=runs,
                             label="bare SQL, fetched")
        if found[-1] != printed:
            raise RuntimeError(f"overdue printed {printed} rows, the bare SQL found {found[-1]}")
        report.add(f"overdue --json, {printed:,} late rows", timing, limit_s=2, baseline=base,
                   max_ratio=3, note=note)
    return timing


def advance(url: str, runs: int, report: Report) -> None:
    """Time one `advance` per run, each on a different cell still at `plan_issued`."""
    raw = Raw(url)
    codes = [r[0] for r in raw.rows(
        "SELECT u.code FROM units u JOIN cycles c ON c.unit_id = u.id WHERE u.level = 'cell' "
        "AND c.stage_rank = 0 ORDER BY u.id DESC LIMIT %s", (runs,))]
    raw.close()
    timing = Timing("advance")
    for code in codes:
        once = time_command(cli(url, "advance", code, "--to", "reports_prepared"), runs=1)
        timing.seconds += once.seconds
        timing.peak_mb += once.peak_mb
    base = time_command([sys.executable, "-c", "import sqlalchemy"], runs=runs,
                        label="python -c 'import sqlalchemy'")
    report.add("advance one cycle (wall, with start-up)", timing, limit_s=0.5, baseline=base)


def serve_memory(url: str, report: Report, seconds: float = 60.0) -> None:
    """Run `kiemdiem serve` on the loaded database for `seconds`; its peak resident memory."""
    proc = subprocess.Popen(cli(url, "serve"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timing = Timing("serve", [seconds])
    peak, signal_at = 0.0, time.monotonic() + seconds
    kill_at = signal_at + SERVE_STOP_SECONDS
    try:  # after SIGINT, serve finishes the sweep in progress: its memory counts until it exits
        while proc.poll() is None and time.monotonic() < kill_at:
            peak = peak_resident_mb(proc.pid)  # the high-water mark: a spike between polls counts
            if time.monotonic() >= signal_at:
                proc.send_signal(signal.SIGINT)
                signal_at = kill_at
            time.sleep(0.2)
    except (OSError, ValueError):
        pass  # it exited between poll() and the read
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    timing.peak_mb.append(peak)
    report.add(f"serve for {seconds:.0f} s over the loaded cycles", timing, limit_mb=300)


def serve_section(backend: str, units: int, url: str) -> None:
    """`serve`'s memory in a section of its own, so `--only serve` can refresh it alone."""
    report = Report(f"core-serve-{backend}", f"`kiemdiem serve` on {LABEL[backend]}: {units:,} units (issue 7)")
    serve_memory(url, report)
    report.note(SERVE_NOTE)
    report.write()


def mid_season(url: str) -> None:
    """Mark four cells in five as having prepared their reports (bench data, set by SQL)."""
    raw = Raw(url)
    raw.execute("UPDATE cycles SET state = 'reports_prepared', stage_rank = 1 WHERE id % 5 <> 0 "
                "AND unit_id IN (SELECT id FROM units WHERE level = 'cell')")
    raw.close()


def bench_backend(backend: str, units: int, runs: int) -> dict[str, Timing]:
    report = Report(f"core-{backend}", f"Core on {LABEL[backend]}: {units:,} units (issue 2)")
    print(f"core on {backend}, {units} units", flush=True)
    url, imports, creates = load(backend, units, runs, report)
    worst = overdue(url, runs, report, f"as of {AS_OF[:10]}: every cell late")
    advance(url, runs, report)
    serve_section(backend, units, url)
    mid_season(url)
    overdue(url, runs, report, "mid-season: 4 cells in 5 on time")
    report.note(f"Data: `python -m benchmarks.generate --units {units}` (seed 2026). "
                "Baselines run through the bare driver (sqlite3, psycopg) in the benchmark's "
                "own process; the CLI figures include interpreter start-up. The load average at "
                "the start is in the machine line: other work on the machine makes figures noisy.")
    report.write()
    return {"import": imports, "campaign": creates, "overdue": worst}


def growth(backends: list[str], sizes: list[int], known: dict[tuple[str, int], dict[str, Timing]]) -> None:
    """Import, campaign create and overdue at each size; a table and a PNG of time and memory."""
    results: dict[tuple[str, int], dict[str, Timing]] = dict(known)
    for backend in backends:
        for size in sizes:
            if (backend, size) in results:
                continue
            print(f"growth: {backend} {size}", flush=True)
            url, imports, creates = load(backend, size, 1, None)
            results[(backend, size)] = {"import": imports, "campaign": creates,
                                        "overdue": overdue(url, 1, None, "")}
    lines = ["## Core: growth with the size of the tree", "",
             f"![time and memory against units]({PNG.name})", "",
             "| backend | units | import s | import MB | campaign create s | campaign MB "
             "| overdue --json s | overdue MB |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (backend, size), ops in sorted(results.items()):
        cells = " | ".join(f"{ops[op].median:.2f} | {ops[op].peak:.0f}"
                           for op in ("import", "campaign", "overdue"))
        lines.append(f"| {backend} | {size:,} | {cells} |")
    update_section(Path(__file__).parent / "RESULTS.md", "core-growth", "\n".join(lines))
    growth_plot(PNG, "kiemdiem core: cost as the national tree grows", "units (= cycles)",
                {f"{op} ({backend})": {size: ops[op] for (b, size), ops in results.items() if b == backend}
                 for backend in sorted({b for b, _ in results})
                 for op in ("import", "campaign", "overdue")})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_core")
    parser.add_argument("--units", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--sizes", default="10000,30000,100000,300000",
                        help="sizes for the growth plot ('' to skip it)")
    parser.add_argument("--only", choices=("serve",), default=None,
                        help="measure only `serve` (on a copy of a loaded template; its own section)")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    if args.only == "serve":
        for backend in backends:
            serve_section(backend, args.units, loaded_database(backend, args.units))
        return 0
    known = {(b, args.units): bench_backend(b, args.units, args.runs) for b in backends}
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        growth(backends, sizes, known)
    return 0


if __name__ == "__main__":
    sys.exit(main())

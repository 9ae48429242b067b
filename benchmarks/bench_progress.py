"""Progress import benchmark (issue 13): 300,000 rows through the real CLI, SQLite and PostgreSQL.

    python -m benchmarks.bench_progress [--units 300000] [--runs 3] [--backends sqlite,postgresql]

Every unit of a generated country (the cells and every committee above them) reports
`reports_prepared` in one CSV with Vietnamese headers: `kiemdiem progress import FILE` on a
fresh copy of the loaded database each run. Target: under 60 s. The baseline is
`progress import --dry-run` of the same file, which reads, checks, plans and writes every
row inside the transaction before rolling it back: the difference is the commit.
Writes its own section, `progress`, of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.datasets import BACKENDS, cli, dataset, loaded_database, run
from benchmarks.harness import RESULTS, Report, time_command, update_section

SECTION = "progress"
LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
TARGET_S = 60.0


def progress_file(units: int, out: Path) -> tuple[Path, int]:
    """One row per unit of the generated country: `reports_prepared` today (the campaign is
    created when the database is loaded, so no earlier day would be in order)."""
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    rows = 0
    with (dataset(units) / "units.csv").open(encoding="utf-8") as source, \
            out.open("w", encoding="utf-8", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["Mã đơn vị", "Bước", "Ngày", "Ghi chú"])
        for unit in csv.DictReader(source):
            writer.writerow([unit["code"], "reports_prepared", today, ""])
            rows += 1
    return out, rows


def _children_cpu() -> float:
    """CPU seconds used by the waited-for child processes of this one so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_progress")
    parser.add_argument("--units", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args(argv)
    name = os.environ.get("KIEMDIEM_BENCH_DB", "kiemdiem_bench")
    path, rows = progress_file(args.units, dataset(args.units) / "progress.csv")
    report = Report(SECTION, f"Progress import: {rows:,} rows, every unit reports a stage (issue 13)")
    cpu: dict[str, float] = {}
    for backend in args.backends.split(","):
        url = loaded_database(backend, args.units, name=name)

        def fresh(backend: str = backend) -> None:
            loaded_database(backend, args.units, name=name)

        argv_ = cli(url, "progress", "import", str(path))
        dry = time_command([*argv_, "--dry-run"], runs=args.runs, setup=fresh,
                           label="progress import --dry-run")
        before = _children_cpu()
        timing = time_command(argv_, runs=args.runs, setup=fresh)
        cpu[backend] = (_children_cpu() - before) / args.runs
        assert f"Đã ghi {rows} bước" in timing.output, timing.output[:500]
        report.add(f"progress import, {LABEL[backend]}", timing, limit_s=TARGET_S, baseline=dry)
        status = run(url, "status", "--json")
        assert status.count('"state": "reports_prepared"') == rows
    report.note(f"Each run imports into a fresh copy of the loaded database; {rows:,} cycles move "
                "`plan_issued → reports_prepared` with {rows:,} audit entries, checked afterwards "
                "with `status --json`.".replace("{rows:,}", f"{rows:,}"))
    report.note("CPU time of the import process (user + system, mean per run; on a loaded "
                "machine the wall time above waits for a core): "
                + ", ".join(f"{LABEL[b]} {s:.1f} s" for b, s in cpu.items()) + ".")
    update_section(RESULTS, SECTION, report.markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

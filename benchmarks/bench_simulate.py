"""Benchmark `kiemdiem simulate` over November–January on a generated province (issue 22).

    .venv/bin/python -m benchmarks.bench_simulate [--units 10000] [--backends sqlite,postgresql]
                                                  [--stream]

On a copy of a database holding `--units` generated units and the 2026 campaign
(`benchmarks.datasets.loaded_database`, the tree of `python -m benchmarks.generate`), runs
`simulate --from 2026-11-01 --to 2027-01-31 --summary --json` once per backend and, with
`--stream`, `simulate … --jsonl` too. Targets (issue 22): 10,000 units in < 30 s and < 300 MB
on SQLite and PostgreSQL; 300,000 units in < 10 min and < 500 MB on PostgreSQL.
Writes the `simulate` section of benchmarks/RESULTS.md (only that section).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from benchmarks.datasets import BENCH_DB, cli, loaded_database
from benchmarks.harness import Report, time_command

SEASON = ("simulate", "--from", "2026-11-01", "--to", "2027-01-31")
#: the benchmark's own database, so another benchmark running beside it keeps its own
NAME = f"{BENCH_DB}_sim"


def targets(units: int) -> dict[str, float]:
    return {"limit_s": 30, "limit_mb": 300} if units <= 10_000 else {"limit_s": 600, "limit_mb": 500}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--stream", action="store_true", help="also time the --jsonl stream")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    report = Report(f"simulate-{args.units}", f"`simulate` over a season: {args.units:,} units (issue 22)",
                    command=f"python -m benchmarks.bench_simulate --units {args.units} --backends "
                            f"{args.backends}{' --stream' if args.stream else ''}")
    found = []
    for backend in args.backends.split(","):
        url = loaded_database(backend, args.units, name=NAME)
        summary = time_command(cli(url, *SEASON, "--summary", "--json"), runs=1)
        season = json.loads(summary.output)
        totals, top = season["totals"], season["most_messaged_unit"]
        found.append(f"{backend}: {totals['messages']:,} messages ({totals['by_kind']}), busiest day "
                     f"{season['busiest_day']}, most messaged unit {top['unit']} ({top['messages']}), "
                     f"{len(season['warnings'])} warning(s)")
        report.add(f"{backend}: --summary --json, {totals['messages']:,} messages counted", summary,
                   **targets(args.units))
        if args.stream:
            stream = time_command(cli(url, *SEASON, "--jsonl"), runs=1)
            lines = stream.output.count("\n")
            stream.output = ""
            report.add(f"{backend}: --jsonl, {lines:,} lines streamed", stream, **targets(args.units))
    report.note(f"One run each (a season is minutes, not seconds). Load average "
                f"{', '.join(f'{x:.1f}' for x in load)} at the start, "
                f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end; the machine is shared "
                "by several sessions, so the figures are noisy. Found: " + "; ".join(found) + ".")
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

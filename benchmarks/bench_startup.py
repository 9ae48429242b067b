"""`advance` start-up against the import floor of the libraries it needs.

    python -m benchmarks.bench_startup [--runs 9] [--backends sqlite,postgresql]

`advance` runs many times a day from office terminals, and importing is most of its time.
The floor is a bare interpreter importing exactly the third-party modules one `advance`
loads (found by running it once and reading `sys.modules`): what no change of ours can go
below. The ratio of `advance` (start-up, one transaction, exit) to that floor says how
much our own modules and work add; it stays meaningful on a loaded machine, where both
grow alike. Targets: ratio ≤ 2, and the 0.5 s budget of issue 2. Each run advances a
different cell of the sample units, from `plan_issued`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.datasets import BACKENDS, cli, empty_database, run
from benchmarks.harness import Report, Timing, time_command

ROOT = Path(__file__).parents[1]

#: our own packages: what the floor leaves out
PROJECT = ("config", "kiemdiem", "workflow", "schedules", "notifiers", "benchmarks", "tests")
NOW = "2026-11-05T09:00"
PROBE = """
import json, sys
from kiemdiem.cli import main
sys.argv = ["kiemdiem", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def sample_database(backend: str) -> str:
    """A database with the sample units and the 2026 campaign (every cell at `plan_issued`)."""
    url = empty_database(backend, name="house_startup")
    run(url, "init")
    run(url, "units", "import", str(ROOT / "config/units/sample.csv"))
    run(url, "campaign", "create", "2026", "--plan", str(ROOT / "config/plans/2026.yaml"))
    return url


def cells(url: str) -> list[str]:
    return [u["code"] for u in json.loads(run(url, "units", "tree", "--json")) if u["level"] == "cell"]


def library_modules(url: str, code: str) -> list[str]:
    """The third-party modules one `advance` of `code` loads (it advances that cell)."""
    args = ["--db", url, "--now", NOW, "advance", code, "--to", "reports_prepared"]
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    stdlib = sys.stdlib_module_names
    return [m for m in loaded if m.split(".")[0] not in stdlib and m.split(".")[0] not in PROJECT
            and not m.startswith("_") and m != "cython_runtime"]


def measure(backend: str, runs: int, report: Report) -> None:
    url = sample_database(backend)
    codes = cells(url)
    if len(codes) < runs + 1:
        raise SystemExit(f"the sample has {len(codes)} cells: at most {len(codes) - 1} runs")
    modules = library_modules(url, codes[0])
    timing = Timing("advance")
    for code in codes[1:runs + 1]:
        once = time_command(cli(url, "--now", NOW, "advance", code, "--to", "reports_prepared"), runs=1)
        timing.seconds += once.seconds
        timing.peak_mb += once.peak_mb
    floor = time_command([sys.executable, "-c", "import " + ", ".join(modules)], runs=runs,
                         label=f"python -c 'import …' ({len(modules)} modules of "
                               f"{', '.join(sorted({m.split('.')[0] for m in modules}))})")
    report.add(f"advance one cycle on {backend} (start-up included) vs the import floor", timing,
               limit_s=0.5, baseline=floor, max_ratio=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()
    report = Report("startup", "Start-up: `advance` against the import floor of its libraries (issue 19)")
    report.note("Both times grow alike with the machine's load (a 2-core machine shared by other "
                "sessions inflates each several times over): judge the ratio; the 0.5 s budget holds "
                "on a quiet machine only (the core section's `advance`).")
    for backend in args.backends.split(","):
        if backend not in BACKENDS:
            raise SystemExit(f"unknown backend {backend}")
        measure(backend, args.runs, report)
    report.write()


if __name__ == "__main__":
    main()

"""Time commands and callables, compare them with a baseline of the same run, record RESULTS.md.

Every benchmark script (`benchmarks/bench_<area>.py`) uses this the same way:

    report = Report("core-sqlite", "Core on SQLite, 300,000 units", command="make bench")
    base = time_command([python, "-c", "import sqlalchemy"], runs=5)
    t = time_command(["kiemdiem", "advance", "X", "--to", "reports_prepared"], runs=5, setup=reset)
    report.add("advance one cycle", t, limit_s=0.5, baseline=base, max_ratio=None)
    report.write()                                   # replaces that section of RESULTS.md

A command's peak memory is the child's own high-water mark (`VmHWM`, followed while it
runs), per run; a callable's is the peak resident size of this process sampled while it ran.
Targets are judged on the median of the runs; min and max are shown beside it.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"


@dataclass
class Timing:
    """Wall times (s) and peak resident memory (MB) of several runs of one thing."""

    label: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    output: str = ""  # the last run's stdout, for a benchmark that checks what was printed

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def max(self) -> float:
        return max(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb) if self.peak_mb else 0.0


class CommandFailed(RuntimeError):
    """A timed command exited non-zero: its output says why, and the figure would be a lie."""


def time_command(argv: Sequence[str], runs: int = 3, *, label: str | None = None,
                 env: dict[str, str] | None = None, cwd: Path | None = None,
                 setup: Callable[[], None] | None = None) -> Timing:
    """Run `argv` `runs` times (after `setup` each time, untimed); wall time and peak RSS."""
    timing = Timing(label or shlex.join(argv))
    full_env = {**os.environ, **(env or {})}
    for _ in range(runs):
        if setup:
            setup()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=full_env, cwd=cwd)
            with _Peak(partial(_status_kb, proc.pid, "VmHWM")) as hwm:
                proc.wait()
            elapsed = time.perf_counter() - started
            out.seek(0)
            err.seek(0)
            if proc.returncode != 0:
                raise CommandFailed(f"{timing.label} exited {proc.returncode}: "
                                    f"{err.read().decode(errors='replace')[-2000:]}")
            timing.output = out.read().decode(errors="replace")
        timing.seconds.append(elapsed)
        timing.peak_mb.append(hwm.peak / 1024)
    return timing


class _Peak:
    """Calls `read` every 5 ms in a thread until stopped (or `read` fails); `peak` is the highest.

    For a command, `read` is the child's `VmHWM` (its own peak RSS, reset at exec): the
    simpler `ru_maxrss` of `wait4` keeps, on Linux, the parent's RSS from before the exec,
    so a small command run from a big benchmark would look big. For a callable, `read` is
    this process's current RSS.
    """

    def __init__(self, read: Callable[[], int]) -> None:
        self.read = read
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            try:
                self.peak = max(self.peak, self.read())
            except (OSError, ValueError):
                return  # the process is gone
            if self._stop.wait(0.005):
                return

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _status_kb(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise ValueError(f"{field} not in /proc/{pid}/status")


def time_callable(fn: Callable[[], object], runs: int = 3, *, label: str,
                  setup: Callable[[], None] | None = None) -> Timing:
    """Call `fn` `runs` times; wall time and this process's peak RSS while it ran."""
    timing = Timing(label)
    for _ in range(runs):
        if setup:
            setup()
        own_rss = _Peak(lambda: _status_kb(os.getpid(), "VmRSS"))
        with own_rss:
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
        timing.seconds.append(elapsed)
        timing.peak_mb.append(max(own_rss.peak, _status_kb(os.getpid(), "VmRSS")) / 1024)
    return timing


def _this_command() -> str:
    """How the running benchmark was started, as a reader would type it."""
    script = Path(sys.argv[0])
    head = ["python", "-m", f"benchmarks.{script.stem}"] if script.parent.name == "benchmarks" \
        else ["python", str(script)]
    return shlex.join([*head, *sys.argv[1:]])


def peak_resident_mb(pid: int) -> float:
    """The high-water mark of process `pid`'s resident set so far, in MB (`VmHWM`)."""
    return _status_kb(pid, "VmHWM") / 1024


def machine() -> str:
    """Cores, CPU model, memory, Python and the load: where and under what the figures came."""
    cpu = "?"
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match.group(1).strip() if match else platform.processor() or "?"
        total = re.search(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M)
        memory = f"{int(total.group(1)) / 1024 / 1024:.1f} GiB RAM" if total else "? RAM"
    except OSError:
        memory = "? RAM"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({cpu}), {memory}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average {load} at the start")


@dataclass
class Line:
    """One measured operation of a report, with its target and whether it is met."""

    name: str
    timing: Timing
    limit_s: float | None = None
    baseline: Timing | None = None
    max_ratio: float | None = None
    limit_mb: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline.median == 0:
            return None
        return self.timing.median / self.baseline.median

    @property
    def met(self) -> bool | None:
        checks = []
        if self.limit_s is not None:
            checks.append(self.timing.median < self.limit_s)
        if self.max_ratio is not None and self.ratio is not None:
            checks.append(self.ratio <= self.max_ratio)
        if self.limit_mb is not None:
            checks.append(self.timing.peak < self.limit_mb)
        return all(checks) if checks else None

    def target(self, unit: str = "s") -> str:
        parts = []
        if self.limit_s is not None:
            parts.append(f"< {self.limit_s * SCALE[unit]:g} {unit}")
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}× baseline")
        if self.limit_mb is not None:
            parts.append(f"< {self.limit_mb:g} MB")
        return ", ".join(parts) or "—"


#: the units a report may show its times in, and their factor from seconds
SCALE = {"s": 1, "ms": 1000}


class Report:
    """A section of RESULTS.md: what was run, where, when, and a table of measured lines.

    `unit` is how the table shows times: seconds, or milliseconds for server-side figures
    whose targets are fractions of a second.
    """

    def __init__(self, section: str, title: str, command: str | None = None, unit: str = "s") -> None:
        self.section = section
        self.title = title
        self.unit = unit
        self.command = command or _this_command()
        self.lines: list[Line] = []
        self.notes: list[str] = []
        self.started = datetime.now().astimezone()
        self.machine = machine()  # the load average when the measuring starts, not when it ends

    def add(self, name: str, timing: Timing, **target: object) -> Line:
        line = Line(name, timing, **target)  # type: ignore[arg-type]
        self.lines.append(line)
        verdict = {True: "met", False: "NOT MET", None: ""}[line.met]
        ratio = f" ratio {line.ratio:.2f}" if line.ratio is not None else ""
        print(f"  {name}: median {timing.median:.3f} s (min {timing.min:.3f}, max {timing.max:.3f}),"
              f" peak {timing.peak:.0f} MB{ratio} {verdict}", flush=True)
        return line

    def note(self, text: str) -> None:
        self.notes.append(text)

    def markdown(self) -> str:
        u = self.unit

        def shown(seconds: float) -> str:
            return f"{seconds * SCALE[u]:.3f}" if u == "s" else f"{seconds * SCALE[u]:.1f}"

        out = [f"## {self.title}", "",
               f"- command: `{self.command}`",
               f"- machine: {self.machine}",
               f"- date: {self.started:%Y-%m-%d %H:%M %z}", "",
               f"| operation | runs | min {u} | median {u} | max {u} | peak RSS MB | baseline median {u} "
               "| ratio | target | met |",
               "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
        for line in self.lines:
            t = line.timing
            base = f"{shown(line.baseline.median)} ({line.baseline.label})" if line.baseline else "—"
            ratio = f"{line.ratio:.2f}" if line.ratio is not None else "—"
            met = {True: "yes", False: "**no**", None: "—"}[line.met]
            name = f"{line.name} ({line.note})" if line.note else line.name
            out.append(f"| {name} | {len(t.seconds)} | {shown(t.min)} | {shown(t.median)} | {shown(t.max)} "
                       f"| {t.peak:.0f} | {base} | {ratio} | {line.target(u)} | {met} |")
        if self.notes:
            out.extend(["", *self.notes])
        return "\n".join(out).rstrip() + "\n"

    def write(self, path: Path = RESULTS) -> None:
        """Replace this report's section in `path` (or append it), leaving the others alone,
        and refresh the summary of every target at the top."""
        update_section(path, self.section, self.markdown())
        update_section(path, SUMMARY, summary(path.read_text(encoding="utf-8")))


SUMMARY = "summary"
_SECTION = re.compile(r"<!-- bench:(?P<name>[\w-]+) -->\n## (?P<title>[^\n]+)\n(?P<body>.*?)<!-- /bench:(?P=name) -->",
                      re.S)
_MEASURED = "| operation | runs |"


def summary(text: str) -> str:
    """Every line with a target, from every section of RESULTS.md, in one table.

    Built from the sections' own tables, so it can never disagree with them; each section
    says when and on what load its figures were taken.
    """
    out = ["## Every target at a glance", "",
           "Collected from the sections below each time a benchmark writes its section; each "
           "section gives the machine, its load and the date. A target that is a count, not a "
           "time (the scheduler's jobs for a season, < 200), is in its section's notes.", "",
           "| section | operation | median s | peak MB | ratio | target | met |",
           "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for match in _SECTION.finditer(text):
        if match["name"] == SUMMARY:
            continue
        rows = match["body"].split(_MEASURED, 1)
        in_ms = len(rows) == 2 and rows[1].startswith(" min ms |")
        for row in rows[1].splitlines()[2:] if len(rows) == 2 else []:
            if not row.startswith("|"):
                break
            cells = [cell.strip() for cell in row.strip("|").split(" | ")]
            name, median, peak, ratio, target, met = (cells[i] for i in (0, 3, 5, 7, 8, 9))
            median = f"{float(median) / SCALE['ms']:.3f}" if in_ms else median
            if target != "—":
                out.append(f"| {match['title']} | {name} | {median} | {peak} | {ratio} | {target} | {met} |")
    return "\n".join(out) + "\n"


def update_section(path: Path, section: str, body: str) -> None:
    """Put `body` between `<!-- bench:section -->` markers in `path`, replacing what was there."""
    begin, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else RESULTS_HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else \
        text.rstrip() + "\n\n" + block
    path.write_text(text, encoding="utf-8")


STYLES = ("o-", "s--", "^:", "d-.", "v-", "x--")


def growth_plot(png: Path, title: str, xlabel: str, series: dict[str, dict[int, Timing]]) -> None:
    """Draw wall time (median) and peak memory of each series against size, log-log, to `png`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (label, points), style in zip(series.items(), STYLES * len(series), strict=False):
        sizes = sorted(points)
        left.plot(sizes, [points[s].median for s in sizes], style, label=label)
        right.plot(sizes, [points[s].peak for s in sizes], style, label=label)
    for axis, name, unit in ((left, "wall time", "seconds"), (right, "peak resident memory", "MB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel(unit)
        axis.set_title(name)
        axis.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


RESULTS_HEADER = """\
# Benchmark results

Written by the scripts in `benchmarks/` (`make bench`); each section is replaced when its
script runs again. Times are wall-clock seconds (milliseconds where a table says so) over
several runs (targets are judged on the median), memory is the peak resident set size, and
a ratio compares the median with a physical baseline measured in the same run.

<!-- bench:summary -->
<!-- /bench:summary -->
"""

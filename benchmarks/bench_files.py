"""Office files at national scale: the 300,000-unit tree as `.xlsx` and CSV, and a dry-run re-import.

    python -m benchmarks.bench_files [--units 300000] [--runs 1] [--backends sqlite,postgresql]

Targets (issue 15): `units import` of the national file as `.xlsx` < 90 s and as CSV < 60 s
on both databases; `units import --dry-run` of the same units with 1% changed < 60 s,
printing the diff; peak memory of each < 1 GB. The workbook and the changed file are made
from the generated CSV once (`benchmarks/data/…/units.xlsx`, `units_changed.csv`).
"""

from __future__ import annotations

import argparse
import csv
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from benchmarks.datasets import BACKENDS, cli, dataset, empty_database, run
from benchmarks.harness import Report, Timing, time_command

LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL 17"}
#: every this-many-th unit gets a new secretary in the re-import (1%)
CHANGE_EVERY = 100


def workbook(data: Path) -> Path:
    """The generated units as the first sheet of a workbook shaped as Excel saves one.

    Excel writes every text once into a shared-string table, each row's cells by reference,
    empty cells left out, and the sheet's dimension; openpyxl's write-only mode writes each
    text inline instead (no reader's usual case), so the file is written here.
    """
    out = data / "units.xlsx"
    if out.exists():
        return out
    strings: dict[str, int] = {}
    rows: list[str] = []
    width = 0
    with (data / "units.csv").open(encoding="utf-8", newline="") as handle:
        for r, row in enumerate(csv.reader(handle), start=1):
            width = max(width, len(row))
            cells = "".join(f'<c r="{_column(i)}{r}" t="s"><v>{strings.setdefault(v, len(strings))}</v></c>'
                            for i, v in enumerate(row) if v)
            rows.append(f'<row r="{r}">{cells}</row>')
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
             f'<dimension ref="A1:{_column(width - 1)}{len(rows)}"/><sheetData>{"".join(rows)}'
             "</sheetData></worksheet>")
    shared = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" '
              f'count="{len(strings)}" uniqueCount="{len(strings)}">'
              + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in {**PARTS, "xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": shared}.items():
            book.writestr(name, text)
    return out


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
PARTS = {
    "[Content_Types].xml":
        f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels":
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml":
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{_REL}">'
        '<sheets><sheet name="Đơn vị" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>",
}


def changed(data: Path) -> tuple[Path, int]:
    """The generated units with every 100th unit's secretary renamed; and how many changed."""
    out = data / "units_changed.csv"
    count = 0
    with (data / "units.csv").open(encoding="utf-8", newline="") as src, \
            out.open("w", encoding="utf-8", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i % CHANGE_EVERY == 0:
                row[4] = f"Bí thư mới {i}"
                count += 1
            writer.writerow(row)
    return out, count


def bench_backend(backend: str, units: int, runs: int) -> None:
    data = dataset(units)
    xlsx = workbook(data)
    changed_csv, count = changed(data)
    report = Report(f"files-{backend}", f"Office files on {LABEL[backend]}: {units:,} units (issue 15)")
    print(f"files on {backend}, {units} units", flush=True)
    url = ""

    def fresh() -> None:
        nonlocal url
        url = empty_database(backend)
        run(url, "init")

    xlsx_t, csv_t = Timing("units import units.xlsx"), Timing("units import units.csv")
    for _ in range(runs):
        for timing, path in ((xlsx_t, xlsx), (csv_t, data / "units.csv")):
            fresh()
            once = time_command(cli(url, "units", "import", str(path)), runs=1)
            timing.seconds += once.seconds
            timing.peak_mb += once.peak_mb
    report.add(f"units import, {units:,} units, .xlsx", xlsx_t, limit_s=90)
    report.add(f"units import, {units:,} units, CSV", csv_t, limit_s=60)
    dry = time_command(cli(url, "units", "import", str(changed_csv), "--dry-run"), runs=runs)
    if f"{count} cập nhật" not in dry.output or dry.output.count("\n~ ") < count - 1:
        raise RuntimeError(f"the dry run did not print the {count} changes: {dry.output[-500:]}")
    report.add(f"units import --dry-run, {units:,} units, {count:,} changed", dry, limit_s=60)
    for timing in (xlsx_t, csv_t, dry):
        if timing.peak > 1024:
            report.note(f"**{timing.label}: peak {timing.peak:.0f} MB, over the 1 GB target.**")
    report.note(f"Peak memory target: < 1 GB each (largest here: "
                f"{max(t.peak for t in (xlsx_t, csv_t, dry)):.0f} MB). Data: `python -m "
                f"benchmarks.generate --units {units}` (seed 2026); the `.xlsx` is that CSV in the shape Excel "
                f"saves (shared strings) ({xlsx.stat().st_size / 1e6:.0f} MB); the dry run re-reads it with every "
                f"{CHANGE_EVERY}th secretary renamed and prints the {count:,} changes.")
    report.write()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_files")
    parser.add_argument("--units", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args(argv)
    for backend in args.backends.split(","):
        bench_backend(backend, args.units, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

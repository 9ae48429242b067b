"""Benchmarks of the results area; writes benchmarks/RESULTS_results.md.

1. Validating and storing the results of a 60-member cell (parse, every qd366 rule, one
   transaction), on SQLite and PostgreSQL. Target: under 0.2 s.
2. The national report as counts on PostgreSQL: 34 provinces × 30 districts × 30 bases ×
   9 cells = 307,054 cycles, ~5.6 million members in `unit_results`, generated in the
   database with `generate_series`. Target: under 5 s for the roll-up and the JSON.

    .venv/bin/python benchmarks/bench_results.py [--pg-admin URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from config.hierarchy import load_hierarchy  # noqa: E402
from workflow.campaigns import create_campaign, get_campaign  # noqa: E402
from workflow.clock import fixed_clock  # noqa: E402
from workflow.db import Database  # noqa: E402
from workflow.results.report import render, report_data  # noqa: E402
from workflow.results.rollup import rollup  # noqa: E402
from workflow.results.store import ResultsService  # noqa: E402
from workflow.schema import upgrade  # noqa: E402
from workflow.service import CycleService  # noqa: E402

PLAN = ROOT / "config" / "plans" / "2026.yaml"
OUT = Path(__file__).parent / "RESULTS_results.md"
CLOCK = fixed_clock(datetime(2026, 11, 17, 2, 0, tzinfo=UTC))
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def fresh_pg(admin: str, name: str, create: bool = True) -> str:
    """(Re)create an empty PostgreSQL database; with `create=False` only drop it."""
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.rsplit("/", 1)[0] + "/" + name


def members_file(directory: Path) -> Path:
    """60 members under qd366: scores, tasks, votes; a head, new and absent members."""
    rows = ["name,role,is_head,level,votes_for,full_members_voting,score_general,score_tasks,"
            "tasks_total,tasks_on_time,tasks_exceeded,admitted_on,absent"]
    rows.append("Bí thư,Bí thư,có,HTT,50,58,27,50,10,10,2,,")
    for i in range(1, 9):
        rows.append(f"Đảng viên {i},,,HTXS,45,58,29,63,10,10,4,,")
    for i in range(9, 50):
        rows.append(f"Đảng viên {i},,,HTT,40,58,25,52,10,10,1,,")
    for i in range(50, 58):
        rows.append(f"Đảng viên {i},,,HT,35,58,20,35,10,9,0,,")
    rows.append("Đảng viên mới,,,,,,,,,,,2026-08-01,")
    rows.append("Đảng viên vắng,,,,,,,,,,,,có")
    path = directory / "ket_qua_60.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def bench_submit(url: str, directory: Path) -> list[float]:
    """Time `ResultsService.submit` of 60 members (re-submitting replaces the rows)."""
    db = Database(url)
    upgrade(db)
    units = directory / "units.csv"
    units.write_text("code,name,level,parent,secretary,email,zalo_user_id,phone,has_committee\n"
                     "P,Tỉnh,province,,,,,,yes\nB,Đảng bộ xã,base,P,,,,,yes\nC,Chi bộ 60,cell,B,,,,,no\n",
                     encoding="utf-8")
    from workflow.units import import_units

    import_units(db, units, load_hierarchy("2025"), CLOCK, "bench")
    create_campaign(db, 2026, PLAN, load_hierarchy("2025"), CLOCK, "bench")
    cycles = CycleService(db, CLOCK)
    for stage in ("reports_prepared", "cell_met"):
        cycles.advance("C", to=stage, actor="bench")
    service = ResultsService(db, CLOCK)
    path = members_file(directory)
    stored = service.submit("C", path, actor="bench", unit_level="HTT")
    assert not stored.violations and stored.counts.total == 60, stored.violations
    times = timed(lambda: service.submit("C", path, actor="bench", unit_level="HTT"), 20)
    db.dispose()
    return times


GENERATE = [
    # 34 provinces, 30 districts each, 30 bases per district, 9 cells per base; ids by arithmetic
    """INSERT INTO units (id, code, name, level, parent_id, path, depth, has_committee, active,
                          created_at, updated_at)
       SELECT p, 'P' || p, 'Tỉnh ' || p, 'province', NULL, '/' || p || '/', 0, true, true, now(), now()
       FROM generate_series(1, 34) p""",
    """INSERT INTO units (id, code, name, level, parent_id, path, depth, has_committee, active,
                          created_at, updated_at)
       SELECT 1000 + (p - 1) * 30 + d, 'P' || p || '-D' || d, 'Đảng bộ ' || p || '-' || d, 'district', p,
              '/' || p || '/' || (1000 + (p - 1) * 30 + d) || '/', 1, true, true, now(), now()
       FROM generate_series(1, 34) p, generate_series(1, 30) d""",
    """INSERT INTO units (id, code, name, level, parent_id, path, depth, has_committee, active,
                          created_at, updated_at)
       SELECT 100000 + (u.id - 1001) * 30 + b, u.code || '-B' || b, 'Đảng bộ xã ' || u.code || '-' || b,
              'base', u.id, u.path || (100000 + (u.id - 1001) * 30 + b) || '/', 2, true, true, now(), now()
       FROM units u, generate_series(1, 30) b WHERE u.level = 'district'""",
    """INSERT INTO units (id, code, name, level, parent_id, path, depth, has_committee, active,
                          created_at, updated_at)
       SELECT 2000000 + (u.id - 100001) * 9 + c, u.code || '-C' || c, 'Chi bộ ' || u.code || '-' || c,
              'cell', u.id, u.path || (2000000 + (u.id - 100001) * 9 + c) || '/', 3, false, true, now(), now()
       FROM units u, generate_series(1, 9) c WHERE u.level = 'base'""",
]
RESULTS_SQL = """
INSERT INTO unit_results (cycle_id, form, collective_level, founded_on, review_date, count_htxs,
    count_htt, count_ht, count_kht, count_not_classified, count_pending, nc_new_member, nc_exempt,
    nc_suspended, nc_other, supplement, valid, violations, rule_set, excellent_quota, submitted_at,
    submitted_by, updated_at)
SELECT c.id, 'counts', (ARRAY['HTXS','HTT','HT','KHT'])[1 + (u.id % 4)], NULL, DATE '2026-11-16',
       1 + u.id % 2, 10 + u.id % 5, 7 + u.id % 4, CASE WHEN u.id % 7 = 0 THEN 1 ELSE 0 END,
       CASE WHEN u.id % 11 = 0 THEN 1 ELSE 0 END, CASE WHEN u.id % 13 = 0 THEN 1 ELSE 0 END,
       CASE WHEN u.id % 11 = 0 THEN 1 ELSE 0 END, 0, 0, 0, u.id % 13 = 0, true, '[]', 'qd366', 0.2,
       now(), 'bench', now()
FROM cycles c JOIN units u ON u.id = c.unit_id
WHERE u.level = 'cell' AND u.id % 500 <> 0
"""


def bench_national(admin: str) -> tuple[dict[str, float], list[float], list[float], dict]:
    url = fresh_pg(admin, "kiemdiem_bench_results")
    db = Database(url)
    upgrade(db)
    setup: dict[str, float] = {}
    start = time.perf_counter()
    with db.engine.begin() as conn:
        for statement in GENERATE:
            conn.execute(text(statement))
    setup["units"] = time.perf_counter() - start
    start = time.perf_counter()
    create_campaign(db, 2026, PLAN, load_hierarchy("2025"), CLOCK, "bench")
    setup["campaign + cycles"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text(RESULTS_SQL))
        conn.execute(text("ANALYZE"))
    setup["unit_results"] = time.perf_counter() - start
    now = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)

    def national() -> dict:
        with db.session() as session:
            return report_data(rollup(session, get_campaign(session, 2026), None, now))

    def national_json() -> bytes:
        return render(national(), "json")

    def province() -> bytes:
        with db.session() as session:
            from workflow.units import find_unit

            return render(report_data(rollup(session, get_campaign(session, 2026), find_unit(session, "P7"),
                                             now)), "json")

    data = national()
    for kind in ("members", "cells", "bases"):
        assert data[kind] == {lvl: sum(c[kind][lvl] for c in data["children"]) for lvl in data[kind]}
    with db.engine.connect() as conn:
        counts = conn.execute(text("SELECT (SELECT count(*) FROM cycles), (SELECT sum(count_htxs + count_htt "
                                   "+ count_ht + count_kht + count_not_classified + count_pending) "
                                   "FROM unit_results)")).one()
    assert sum(data["members"].values()) == counts[1]
    times = timed(national_json, 5)
    province_times = timed(province, 5)
    db.dispose()
    return setup, times, province_times, {"cycles": counts[0], "members": counts[1], "data": data}


def fmt(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, n={len(times)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = bench_submit(f"sqlite:///{tmp}/bench.db", Path(tmp))
        pg = bench_submit(fresh_pg(args.pg_admin, "kiemdiem_bench_submit"), Path(tmp))
    setup, national, province, sizes = bench_national(args.pg_admin)
    for name in ("kiemdiem_bench_submit", "kiemdiem_bench_results"):
        fresh_pg(args.pg_admin, name, create=False)
    data = sizes["data"]
    lines = [
        "# Results benchmarks", "",
        f"Run {datetime.now().astimezone():%Y-%m-%d %H:%M %z} on {sys.platform}, Python "
        f"{sys.version.split()[0]}: `.venv/bin/python benchmarks/bench_results.py`.", "",
        "| what | median | target |", "| --- | --- | --- |",
        f"| submit 60 members (parse, qd366 rules, store), SQLite | {fmt(sqlite)} | < 0.2 s |",
        f"| submit 60 members (parse, qd366 rules, store), PostgreSQL | {fmt(pg)} | < 0.2 s |",
        f"| national report, JSON, {sizes['cycles']:,} cycles, {sizes['members']:,} members, PostgreSQL "
        f"| {fmt(national)} | < 5 s |",
        f"| one province's report (9,031 cycles), JSON, PostgreSQL | {fmt(province)} | — |", "",
        "Data generation (not timed against a target): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in setup.items()) + ".", "",
        f"National totals: members {data['members']}; cells {data['cells']}; bases {data['bases']}; "
        f"{data['without_results']} cells without results. The totals were checked to equal the sum "
        "of the 34 provinces' rows and the sum of `unit_results`.",
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

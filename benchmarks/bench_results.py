"""Results benchmarks (issue 5); writes the `results` section of benchmarks/RESULTS.md.

1. Validating and storing the results of a 60-member cell (parse, every qd366 rule, one
   transaction), on SQLite and PostgreSQL. Target: under 0.2 s.
2. The national report as counts on PostgreSQL: 34 provinces × 30 districts × 30 bases ×
   9 cells = 307,054 cycles, ~5.6 million members in `unit_results`, generated in the
   database with `generate_series`. Target: under 5 s for the roll-up and the JSON. Its
   baseline is the bare SQL that sums the same counts per province and level, through psycopg.

    python -m benchmarks.bench_results [--pg-admin URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text

from benchmarks.harness import Report, Timing, time_callable
from config.hierarchy import load_hierarchy
from workflow.campaigns import create_campaign
from workflow.clock import fixed_clock
from workflow.db import Database
from workflow.lookup import get_campaign
from workflow.results.report import render, report_data
from workflow.results.rollup import rollup
from workflow.results.store import ResultsService
from workflow.schema import upgrade
from workflow.service import CycleService

ROOT = Path(__file__).parents[1]
PLAN = ROOT / "config" / "plans" / "2026.yaml"
CLOCK = fixed_clock(datetime(2026, 11, 17, 2, 0, tzinfo=UTC))
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


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


def bench_submit(url: str, directory: Path) -> Timing:
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
    times = time_callable(lambda: service.submit("C", path, actor="bench", unit_level="HTT"), 20,
                          label="submit")
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
#: the physical floor of the national report: the same member counts summed per province and
#: collective level, through the bare driver
BARE_REPORT_SQL = """
SELECT substr(u.path, 1, strpos(substr(u.path, 2), '/') + 1) AS province, r.collective_level, count(*),
       sum(r.count_htxs), sum(r.count_htt), sum(r.count_ht), sum(r.count_kht),
       sum(r.count_not_classified), sum(r.count_pending)
FROM cycles c JOIN units u ON u.id = c.unit_id LEFT JOIN unit_results r ON r.cycle_id = c.id
WHERE u.active GROUP BY 1, 2
"""


def bench_national(admin: str) -> tuple[dict[str, float], dict[str, Timing], dict]:
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
            from workflow.lookup import find_unit

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
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as raw:
        raw.execute(BARE_REPORT_SQL).fetchall()  # warm, as the report was by the checks above
        timings = {"bare": time_callable(lambda: raw.execute(BARE_REPORT_SQL).fetchall(), 5,
                                         label="bare SQL: counts per province and level")}
    timings["national"] = time_callable(national_json, 5, label="national")
    timings["province"] = time_callable(province, 5, label="province")
    db.dispose()
    return setup, timings, {"cycles": counts[0], "members": counts[1], "data": data}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = bench_submit(f"sqlite:///{tmp}/bench.db", Path(tmp))
        pg = bench_submit(fresh_pg(args.pg_admin, "kiemdiem_bench_submit"), Path(tmp))
    setup, timings, sizes = bench_national(args.pg_admin)
    for name in ("kiemdiem_bench_submit", "kiemdiem_bench_results"):
        fresh_pg(args.pg_admin, name, create=False)
    report = Report("results", "Results: submitting a cell and the national report (issue 5)")
    report.add("submit 60 members (parse, qd366 rules, store), SQLite", sqlite, limit_s=0.2)
    report.add("submit 60 members (parse, qd366 rules, store), PostgreSQL", pg, limit_s=0.2)
    report.add(f"national report as JSON, {sizes['cycles']:,} cycles, {sizes['members']:,} members, "
               "PostgreSQL", timings["national"], baseline=timings["bare"], limit_s=5)
    report.add("one province's report (9,031 cycles) as JSON, PostgreSQL", timings["province"])
    data = sizes["data"]
    report.note("Data generation (not timed against a target): "
                + ", ".join(f"{k} {v:.1f} s" for k, v in setup.items()) + ". "
                f"National totals: members {data['members']}; cells {data['cells']}; bases {data['bases']}; "
                f"{data['without_results']} cells without results. The totals were checked to equal the "
                "sum of the 34 provinces' rows and the sum of `unit_results`. The report's time includes "
                "the roll-up (one GROUP BY by materialised path), the late and missing children, and "
                "rendering the JSON; the baseline only fetches the grouped sums.")
    report.write()


if __name__ == "__main__":
    main()

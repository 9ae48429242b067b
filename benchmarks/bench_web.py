"""Benchmark the monitor's overview on a national tree of ~300,000 cycles (PostgreSQL).

    .venv/bin/python -m benchmarks.bench_web [--admin-url URL] [--keep]

Builds its own database `kiemdiem_bench_web` (COPY for the units, the core's set-based
`create_campaign` for the cycles, INSERT … SELECT for the progress and the audit trail),
then times, server side, the overview page (`GET /` through the ASGI app, login excluded)
and its queries for a user of the national root and one of a 10,000-unit province.
Results: benchmarks/RESULTS_web.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from config.hierarchy import load_hierarchy
from config.settings import Settings
from kiemdiem.app import App
from kiemdiem.web import create_app, monitor
from kiemdiem.web.accounts import add_user
from kiemdiem.web.cache import VersionedCache
from workflow.campaigns import create_campaign, get_campaign
from workflow.clock import fixed_clock
from workflow.db import Database
from workflow.schema import upgrade

PLAN = Path(__file__).parents[1] / "config" / "plans" / "2026.yaml"
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
PASSWORD = "benchmark-password"
PROVINCES = 34
#: (bases, cells per base): province 1 is the 10,000-unit one; the rest make up ~300,000
BIG = (115, 86)
OTHER = (100, 87)


def _units() -> list[tuple]:
    """The tree: a national root, 34 provinces, bases under them, cells under the bases."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[tuple] = []

    def add(uid: int, code: str, name: str, level: str, parent: int | None, path: str,
            depth: int, committee: bool) -> None:
        rows.append((uid, code, name, level, parent, path, depth, f"Bí thư {code}",
                     f"{code.lower()}@example.vn", "0912000000", committee, True, created, created))

    add(1, "TW", "Toàn quốc", "province", None, "/1/", 0, True)
    uid = 1
    for p in range(1, PROVINCES + 1):
        uid += 1
        pid, ppath = uid, f"/1/{uid}/"
        add(pid, f"P{p:02}", f"Đảng bộ tỉnh {p:02}", "province", 1, ppath, 1, True)
        bases, cells = BIG if p == 1 else OTHER
        for b in range(1, bases + 1):
            uid += 1
            bid, bpath = uid, f"{ppath}{uid}/"
            add(bid, f"P{p:02}-B{b:03}", f"Đảng bộ xã {p:02}-{b:03}", "base", pid, bpath, 2, True)
            for c in range(1, cells + 1):
                uid += 1
                add(uid, f"P{p:02}-B{b:03}-C{c:02}", f"Chi bộ {p:02}-{b:03}-{c:02}", "cell", bid,
                    f"{bpath}{uid}/", 3, c % 3 == 0)
    return rows


# Cells' progress by 21/11 (cycle id mod 100 below the threshold), with the day it happened.
SEASON = [  # (stage, rank, share in %, first day, days spread)
    ("reports_prepared", 1, 85, datetime(2026, 11, 1, 2, tzinfo=UTC), 12),
    ("committee_met", 2, 70, datetime(2026, 11, 8, 2, tzinfo=UTC), 8),
    ("cell_met", 3, 60, datetime(2026, 11, 10, 2, tzinfo=UTC), 9),
    ("forms_submitted", 4, 40, datetime(2026, 11, 15, 2, tzinfo=UTC), 6),
]


def generate(db: Database) -> None:
    upgrade(db)
    rows = _units()
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(
                "COPY units (id, code, name, level, parent_id, path, depth, secretary, email, "
                "phone, has_committee, active, created_at, updated_at) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    create_campaign(db, 2026, PLAN, load_hierarchy("2025"),
                    fixed_clock(datetime(2026, 10, 20, 2, tzinfo=UTC)), "bench")
    with db.engine.begin() as conn:
        for stage, rank, share, first, spread in SEASON:
            bit = 1 << rank
            conn.execute(text(f"""
                INSERT INTO audit_log (at, actor, action, campaign_id, unit_id, cycle_id,
                                       from_state, to_state, details)
                SELECT t.at, 'bench', 'cycle.advance', t.campaign_id, t.unit_id, t.id, 'x',
                       :stage, json_build_object('event', 'bench', 'forced', NULL, 'note', NULL,
                           'reached_at', to_char(t.at AT TIME ZONE 'UTC',
                                                 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'))
                FROM (SELECT c.*, :first + ((c.id::bigint * 7919) % {spread}) * interval '1 day'
                             AS at
                      FROM cycles c JOIN units u ON u.id = c.unit_id
                      WHERE u.level = 'cell' AND c.id % 100 < {share}
                        AND c.stages_mask & {bit} <> 0) t
            """), {"first": first, "stage": stage})
            conn.execute(text(f"""
                UPDATE cycles SET state = :stage, stage_rank = {rank}
                WHERE id % 100 < {share} AND stages_mask & {bit} <> 0
                  AND unit_id IN (SELECT id FROM units WHERE level = 'cell')
            """), {"stage": stage})
        conn.execute(text("ANALYZE"))
    clock = fixed_clock(NOW)
    add_user(db, "tw", "TW", PASSWORD, clock)
    add_user(db, "p01", "P01", PASSWORD, clock)


def _time(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    fn()  # warm caches and the connection pool
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def measure(db: Database, repeat: int) -> list[tuple[str, str, float, float]]:
    app = App(settings=Settings.from_env({}, database_url=db.url), clock=fixed_clock(NOW))
    web = create_app(app)
    results = []
    with db.session() as s:
        campaign = get_campaign(s, 2026)
        counts = s.execute(text("SELECT (SELECT count(*) FROM cycles), "
                                "(SELECT count(*) FROM audit_log)")).one()
    print(f"cycles: {counts[0]}, audit entries: {counts[1]}")
    for user, code in (("tw", "TW"), ("p01", "P01")):
        client = TestClient(web)
        page = client.get("/login").text
        token = page.split('name="csrf" value="')[1].split('"')[0]
        client.post("/login", data={"name": user, "password": PASSWORD, "csrf": token})
        assert client.get("/").status_code == 200
        with db.session() as s:
            path = s.execute(text("SELECT path FROM units WHERE code = :c"), {"c": code}).scalar_one()
            size = s.execute(text("SELECT count(*) FROM units WHERE path LIKE :p"),
                             {"p": path + "%"}).scalar_one()
        scope = f"{code} ({size:,} units)"

        def queries(path: str = path) -> None:
            with db.session() as s:
                monitor.overview(monitor.scan(s, campaign, path), NOW, app.hierarchy.names)
                monitor.progress(s, campaign, monitor.reached_days(s, campaign, path), NOW)

        def cold(c: TestClient = client) -> None:
            web.state.scans = VersionedCache()
            c.get("/")

        def late_page(path: str = path) -> None:
            with db.session() as s:
                monitor.late_rows(s, campaign, path, NOW, monitor.LateFilter())
                monitor.late_count(s, campaign, path, NOW, monitor.LateFilter())

        for label, fn in (("GET / cold (nothing cached)", cold),
                          ("GET / warm (no change since last view)", lambda c=client: c.get("/")),
                          ("overview + progress queries", queries),
                          ("GET /late (first 500 rows)", lambda c=client: c.get("/late")),
                          ("late list queries", late_page)):
            median, worst = _time(fn, repeat)
            results.append((scope, label, median, worst))
            print(f"{scope:>24} | {label:<38} | median {median:7.1f} ms | max {worst:7.1f} ms")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="Measure the existing database again.")
    args = parser.parse_args()
    name = "kiemdiem_bench_web"
    url = args.admin_url.rsplit("/", 1)[0] + "/" + name
    if not args.reuse:
        admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        start = time.perf_counter()
        generate(Database(url))
        print(f"generated in {time.perf_counter() - start:.1f} s")
    measure(Database(url), args.repeat)


if __name__ == "__main__":
    main()

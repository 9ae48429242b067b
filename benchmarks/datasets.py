"""Databases loaded with a generated country, for benchmarks on SQLite and PostgreSQL.

Loading 300,000 units takes a minute, so a loaded database is kept as a template (a SQLite
file in `benchmarks/data/`, a PostgreSQL database `kiemdiem_bench_tpl_<units>`) and every
benchmark gets a fresh copy of it: the SQLite file copied, PostgreSQL's
`CREATE DATABASE kiemdiem_bench TEMPLATE …` — seconds instead of a minute. The template's name
carries a tag of the migrations, so a branch that changes the schema loads its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.generate import default_out, generate

DATA = Path(__file__).parent / "data"
BACKENDS = ("sqlite", "postgresql")
PG_ADMIN_URL = os.environ.get("KIEMDIEM_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
#: the benchmark databases' name; another checkout benchmarking at the same time sets its own
BENCH_DB = os.environ.get("KIEMDIEM_BENCH_DB", "kiemdiem_bench")
YEAR = 2026


def kiemdiem() -> str:
    """The `kiemdiem` console script of the running interpreter's environment."""
    return str(Path(sys.executable).parent / "kiemdiem")


def dataset(units: int, seed: int = 2026, variant: str = "2025") -> Path:
    """The folder of a generated country (units.csv, plan.yaml, members.csv), made once."""
    out = default_out(units, seed, variant)
    summary = out / "summary.json"
    if not summary.exists() or json.loads(summary.read_text())["units"] != units:
        generate(out, units, seed, variant, YEAR)
    return out


def pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def empty_database(backend: str, name: str = BENCH_DB) -> str:
    """Drop and recreate database `name`; return its URL (not yet migrated)."""
    if backend == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DATA / name}.db{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{DATA / name}.db"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def cli(url: str, *args: str) -> list[str]:
    """The argv of a kiemdiem command against `url`."""
    return [kiemdiem(), "--db", url, *args]


def run(url: str, *args: str) -> str:
    """Run a kiemdiem command untimed (preparation); fail loudly with its stderr."""
    proc = subprocess.run(cli(url, *args), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kiemdiem {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def loaded_database(backend: str, units: int, name: str = BENCH_DB, seed: int = 2026) -> str:
    """A fresh copy of a database holding `units` generated units and the 2026 campaign.

    The template is loaded under a temporary name and renamed when complete, so a failed
    load never leaves a half-filled template behind.
    """
    template = f"{BENCH_DB}_tpl_{units}_s{seed}_{_schema_tag()}"
    if backend == "sqlite":
        source = DATA / f"{template}.db"
        if not source.exists():
            _load(empty_database("sqlite", template + "_loading"), dataset(units, seed))
            (DATA / f"{template}_loading.db").rename(source)
        target = empty_database("sqlite", name)
        shutil.copyfile(source, DATA / f"{name}.db")
        return target
    if not _pg_exists(template):
        _load(empty_database("postgresql", template + "_loading"), dataset(units, seed))
        _pg_admin(f'ALTER DATABASE "{template}_loading" RENAME TO "{template}"')
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return pg_url(name)


def _load(url: str, data: Path) -> None:
    """Init, import and create the campaign; each process closes its connections on exit,
    which for SQLite checkpoints the WAL into the main file (so copying it is enough)."""
    run(url, "init")
    run(url, "units", "import", str(data / "units.csv"))
    run(url, "campaign", "create", str(YEAR), "--plan", str(data / "plan.yaml"))


def _schema_tag() -> str:
    """A short tag of the migration files: a template made by another schema is not reused."""
    versions = Path(__file__).parents[1] / "workflow" / "migrations" / "versions"
    names = sorted(p.name for p in versions.glob("*.py"))
    return f"{zlib.crc32(' '.join(names).encode()):08x}"


def _pg_exists(name: str) -> bool:
    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                     {"n": name}).scalar())
    finally:
        engine.dispose()

"""A PostgreSQL cluster of a test's own, which it may stop and start at will.

The shared server on 5432 must never be restarted, so a test that takes the database away
from a running `serve` makes a throw-away cluster: `initdb` into a temporary folder, a free
port on 127.0.0.1, `pg_ctl -w start` / `stop -m fast`. As root the commands run as the
`postgres` OS user (initdb refuses root). Without PostgreSQL's binaries the test fails
with that reason: a fault test that cannot run must not pass as skipped in CI.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.notify_fixtures import free_port


class PrivateCluster:
    """One initialised cluster in `root`, listening on 127.0.0.1:`port` while started."""

    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin, self.root, self.port = bin_dir, root, port
        self.data, self.log = root / "data", root / "server.log"
        self._user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self._user, str(self.bin / tool), *args],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise AssertionError(f"{tool} {' '.join(args)} failed: {done.stderr}{log[-2000:]}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale", "C.UTF-8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_database(self, name: str) -> str:
        """Create database `name` and return its URL."""
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def private_pg() -> Iterator[PrivateCluster]:
    """A started private cluster, stopped and deleted afterwards."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not versions:
        pytest.fail("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are not installed; "
                    "scripts/ensure-services installs them")
    root = Path(tempfile.mkdtemp(prefix="kiemdiem-pg-"))  # outside pytest's root-only tmp
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = PrivateCluster(Path(versions[-1]).parent, root, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)

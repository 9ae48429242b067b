"""Helpers for tests that drive the CLI in-process and build small trees."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kiemdiem import jsonlog
from kiemdiem.cli import cli
from kiemdiem.wording import said_problems, say
from workflow.errors import ProblemError

ROOT = Path(__file__).parents[1]
SAMPLE_UNITS = ROOT / "config" / "units" / "sample.csv"
SAMPLE_PLAN = ROOT / "config" / "plans" / "2026.yaml"
HEADER = "code,name,level,parent,secretary,email,zalo_user_id,phone,has_committee\n"


def run(db_url: str, *args: str, now: str | None = None) -> Result:
    """Run `kiemdiem --db URL [--now NOW] ARGS…` in-process and return its result."""
    prefix = ["--db", db_url] + (["--now", now] if now else [])
    with own_process_logging():
        return CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False)


@contextmanager
def own_process_logging() -> Iterator[None]:
    """Within the block, the root logger as a process of its own would leave it: the JSON log a
    command installs (`dispatch`, `serve`) is taken off again, so the next command run
    in-process does not print into it."""
    root = logging.getLogger()
    before = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in ("", *jsonlog.CHATTY)}
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in before and isinstance(h, jsonlog.StdoutHandler)]:
            root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def run_json(db_url: str, *args: str, now: str | None = None) -> list[dict]:
    result = run(db_url, *args, "--json", now=now)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def write_units(tmp_path: Path, body: str, name: str = "units.csv") -> Path:
    """Write a units CSV with the standard header and return its path."""
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def seeded(db_url: str) -> None:
    """Initialise `db_url` with the sample units and the 2026 campaign."""
    for args in (("init",), ("units", "import", str(SAMPLE_UNITS)),
                 ("campaign", "create", "2026", "--plan", str(SAMPLE_PLAN))):
        result = run(db_url, *args)
        assert result.exit_code == 0, result.stderr


def submit_results(db_url: str, code: str, counts: str = "1,5,3,0,0,0", now: str | None = None) -> None:
    """Store valid counts-only results for a cell at `cell_met` (the gate on `forms_submitted`)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ket_qua.csv"
        path.write_text("HTXS,HTT,HT,KHT,not_classified,pending\n" + counts + "\n", encoding="utf-8")
        result = run(db_url, "results", "submit", code, str(path), now=now)
    assert result.exit_code == 0, result.stderr


@contextmanager
def refused(kind: type[ProblemError], saying: str) -> Iterator[None]:
    """Expect the block to raise `kind`, worded (as the CLI words it: the sentence, then its
    problems one per line) to match `saying`."""
    with pytest.raises(kind) as caught:
        yield
    assert re.search(saying, worded(caught.value)), worded(caught.value)


def worded(error: ProblemError) -> str:
    """An error as the CLI prints it: its sentence, then its problems one per line."""
    return "\n".join([say(error), *said_problems(error)])

"""`kiemdiem user …`: accounts of the monitor, through the CLI, on both backends."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kiemdiem.cli import cli
from tests.helpers import run, seeded


def test_user_add_generates_or_reads_a_password_and_refuses_mistakes(db):
    seeded(db.url)
    made = run(db.url, "user", "add", "btc", "--unit", "GL")
    assert made.exit_code == 0, made.stderr
    assert "Mật khẩu: " in made.stdout and len(made.stdout.split("Mật khẩu: ")[1].strip()) == 14
    given = CliRunner().invoke(cli, ["--db", db.url, "user", "add", "pc", "--unit", "GL-PC",
                                     "--password-stdin"], input="mot-mat-khau-dai\n")
    assert given.exit_code == 0 and "Mật khẩu" not in given.stdout
    again = run(db.url, "user", "add", "btc", "--unit", "GL")
    assert again.exit_code == 1 and "Đã có người dùng" in again.stderr
    unknown = run(db.url, "user", "add", "x", "--unit", "NOPE")
    assert unknown.exit_code == 2 and "NOPE" in unknown.stderr
    short = CliRunner().invoke(cli, ["--db", db.url, "user", "add", "y", "--unit", "GL",
                                     "--password-stdin"], input="ngan\n")
    assert short.exit_code == 2 and "ít nhất 10" in short.stderr
    listed = json.loads(run(db.url, "user", "list", "--json").stdout)
    assert [(u["name"], u["unit"], u["active"]) for u in listed] == [("btc", "GL", True),
                                                                     ("pc", "GL-PC", True)]
    reset = run(db.url, "user", "password", "pc")
    assert reset.exit_code == 0 and "Mật khẩu: " in reset.stdout
    assert run(db.url, "user", "password", "ai-do").exit_code == 2

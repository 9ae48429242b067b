"""The CLI finds its commands by name without importing every area (start-up of `advance`)."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module

from kiemdiem import commands


def test_every_command_of_every_area_is_reachable_by_its_name() -> None:
    for area, names in commands.AREAS.items():
        module = import_module(f"kiemdiem.commands.{area}")
        assert sorted(c.name for c in module.COMMANDS) == sorted(names)
        for name in names:
            assert commands.load(name).name == name
    assert commands.load("no-such-command") is None


def test_a_core_command_does_not_load_the_other_areas() -> None:
    probe = ("import sys\nfrom kiemdiem.cli import cli\n"
             "cli.main(['diagram'], standalone_mode=False)\n"
             "print(sorted(m for m in sys.modules if m.startswith(('schedules', 'notifiers', "
             "'workflow.results.report', 'kiemdiem.web', 'openpyxl', 'apscheduler', 'starlette'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"

"""The CLI finds every command by its name."""

from __future__ import annotations

from importlib import import_module

from kiemdiem import commands


def test_every_command_of_every_area_is_reachable_by_its_name() -> None:
    for area, names in commands.AREAS.items():
        module = import_module(f"kiemdiem.commands.{area}")
        assert sorted(c.name for c in module.COMMANDS) == sorted(names)
        for name in names:
            assert commands.load(name).name == name
    assert commands.load("no-such-command") is None


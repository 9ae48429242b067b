"""The levels of the party tree and which level may sit under which.

The levels are configuration, not code: the 2025 reform removed the district tier for
communes, so a base may sit directly under a province. Two presets ship in
`config/hierarchy/`; a province may point `KIEMDIEM_HIERARCHY` at a file of its own.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.i18n import _
from config.yamlfile import load_named

PRESETS_DIR = Path(__file__).parent / "hierarchy"
DEFAULT_PRESET = "2025"


class Level(BaseModel):
    """One level of the tree: its code name, a Vietnamese label and the levels above it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    parents: tuple[str, ...] = ()


class Hierarchy(BaseModel):
    """The ordered levels, from the top of the tree down."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    levels: tuple[Level, ...]

    @model_validator(mode="after")
    def _parents_are_levels_above(self) -> Hierarchy:
        seen: set[str] = set()
        for level in self.levels:
            if level.name in seen:
                raise ValueError(_("level '{level}' is listed twice").format(level=level.name))
            for parent in level.parents:
                if parent not in seen:
                    raise ValueError(_("level '{level}' names parent '{parent}', which is not a level listed "
                                       "above it").format(level=level.name, parent=parent))
            seen.add(level.name)
        return self

    def level(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)

    @cached_property
    def names(self) -> tuple[str, ...]:
        """The level names, top down (asked once per imported row: computed once)."""
        return tuple(level.name for level in self.levels)

    def may_sit_under(self, child: str, parent: str | None) -> bool:
        """Say whether a unit of level `child` may have a parent of level `parent` (None: root)."""
        level = self.level(child)
        if parent is None:
            return True
        return parent in level.parents

    def label(self, name: str) -> str:
        return self.level(name).label


def load_hierarchy(name_or_path: str | Path = DEFAULT_PRESET) -> Hierarchy:
    """Load a preset by name (`2025`, `four_tier`) or a hierarchy YAML file by path."""
    return load_named(name_or_path, PRESETS_DIR, Hierarchy, _("hierarchy"))

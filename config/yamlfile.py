"""Read YAML keeping the line of every key, so validation errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from config.errors import ConfigError, Phrase, Problem
from config.i18n import pgettext

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so the models parse them and name a bad key."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Parse a YAML file; return its data and a map from key path to 1-based line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError("config.unreadable", file=str(path), reason=exc.strerror) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("config.not_utf8", file=str(path), byte=exc.start) from exc
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError("config.not_yaml", file=str(path), line=mark.line + 1 if mark else "?",
                          problem=str(getattr(exc, "problem", exc))) from exc
    lines: dict[Loc, int] = {}
    if node is not None:
        _index(node, (), lines)
    return data, lines


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, key.value)
            lines[child] = key.start_mark.line + 1
            _index(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*loc, i), lines)


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """Return the line of the deepest known prefix of `loc` (pydantic locs may go deeper)."""
    for end in range(len(loc), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in loc[:end])
        if key in lines:
            return lines[key]
    return None


def invalid_file(path: Path, exc: Any, lines: dict[Loc, int]) -> ConfigError:
    """A pydantic ValidationError as one problem per key (`config.key`: file, line, key, what is
    wrong). What is wrong is still worded here, in the running language: the models' own checks
    raise translated sentences (see `_problem`)."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or Phrase("(top level)")
        problems.append(Problem("config.key", file=str(path), line=line_of(lines, loc) or "?", key=key,
                                problem=_problem(err)))
    return ConfigError("config.invalid", problems, file=str(path))


def _problem(err: Any) -> str:
    """A validation problem in the chosen language: the project's own checks are translated
    where they are raised; pydantic's, by their type (`pgettext("pydantic", type)`, with the
    error's context), else in pydantic's English."""
    if err["type"] == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    said = pgettext("pydantic", err["type"])
    return str(err["msg"]) if said == err["type"] else said.format(**err.get("ctx", {}))


def load_named(name_or_path: str | Path, directory: Path, model: type[M], what: str) -> M:
    """Load `directory/<name>.yaml` (or a `.yaml` path) into `model`; errors name the key and line."""
    candidate = Path(name_or_path)
    path = candidate if candidate.suffix in {".yaml", ".yml"} else directory / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml")))
        raise ConfigError("config.unknown_name", what=what, name=str(name_or_path), known=known)
    data, lines = load_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_file(path, exc, lines) from exc

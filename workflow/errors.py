"""Errors a use case raises, as a code and its data; the edges (the CLI, the web) word them.

A use case says *what* went wrong (`Refused("unit.changed_meanwhile", code="GL-TS")`), never
in which words or through which door: the sentence lives in the catalogs under the context
`error` and the code as msgid (`config/locale/*.po`), and `kiemdiem.wording.say` picks it in
the reader's language. So the core names no CLI flag, and a Vietnamese web page and an English
terminal word the same refusal each in its own way.
"""

from __future__ import annotations

from typing import Any

from config.errors import Label, Phrase, Problem, ProblemError

__all__ = ["BadInput", "Conflict", "KiemdiemError", "Label", "NotFound", "Phrase", "Problem", "Refused",
           "first_line", "from_json", "to_json"]


def to_json(value: object) -> object:
    """`value` (a Problem, a Label, a Phrase, a list of them or plain data) as JSON data, so a
    problem can be stored and worded later, in the language of whoever reads it."""
    if isinstance(value, Problem):
        return {"problem": value.code, "data": {k: to_json(v) for k, v in value.data.items()}}
    if isinstance(value, (Label, Phrase)):
        return {type(value).__name__.lower(): str(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    """Read back `to_json`."""
    if isinstance(value, dict):
        if "problem" in value:
            return Problem(value["problem"], **{k: from_json(v) for k, v in value.get("data", {}).items()})
        if "label" in value:
            return Label(value["label"])
        if "phrase" in value:
            return Phrase(value["phrase"])
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


class KiemdiemError(ProblemError):
    """Base of the errors a use case raises: a `Problem`, the problems under it, the exit code."""

    exit_code = 1


class Refused(KiemdiemError):
    """A valid request the rules refuse (a guard fails): exit 1."""

    exit_code = 1


class Conflict(Refused):
    """Someone else changed the same rows meanwhile; nothing was written, a retry may pass: exit 1."""


class BadInput(KiemdiemError):
    """Input that cannot be understood (a file, a code, a date): exit 2."""

    exit_code = 2


class NotFound(BadInput):
    """An unknown unit code, campaign year or record id: exit 2."""


def first_line(error: BaseException) -> str:
    """An error's class and first line, for one log field (SQLAlchemy appends the whole
    statement after the first line)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"

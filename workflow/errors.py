"""Errors a use case raises, as a code and its data; the edges (the CLI, the web) word them.

A use case says *what* went wrong (`Refused("unit.changed_meanwhile", code="GL-TS")`), never
in which words or through which door: the sentence lives in the catalogs under the context
`error` and the code as msgid (`config/locale/*.po`), and `kiemdiem.wording.say` picks it in
the reader's language. So the core names no CLI flag, and a Vietnamese web page and an English
terminal word the same refusal each in its own way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Label(str):
    """A machine name (a stage, a level) that the edge shows translated (`pgettext("value", …)`)."""

    __slots__ = ()


class Phrase(str):
    """An English msgid kept as data (a KHT ground's name) that the edge translates (`_`)."""

    __slots__ = ()


class Problem:
    """One thing wrong: a code (an `error`-context msgid of the catalogs) and the data its
    sentence quotes. A value may itself be a `Problem` (a reason inside a sentence), a `Label`,
    or a list of either, each worded in turn."""

    __slots__ = ("code", "data")

    def __init__(self, code: str, /, **data: object) -> None:
        self.code = code
        self.data = data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and (self.code, self.data) == (other.code, other.data)

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.data.items())
        return f"Problem({self.code!r}{args})"


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


class KiemdiemError(Exception):
    """Base of the errors a user may see: a `Problem` (`code`, `data`) and the exit code.

    `problems` lists every problem found (each naming its row, field or rule), so a user can
    fix a whole file in one pass; the edges word them one per line under the sentence.
    """

    exit_code = 1

    def __init__(self, code: str, /, problems: Iterable[Problem] = (), **data: object) -> None:
        super().__init__(code)
        self.problem = Problem(code, **data)
        self.problems = list(problems)

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def data(self) -> dict[str, object]:
        return self.problem.data

    def __str__(self) -> str:
        """The code and data, for logs (a person reads `kiemdiem.wording.say(error)`)."""
        return f"{self.code} {self.data}" if self.data else self.code


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

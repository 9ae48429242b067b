"""Errors configuration raises, as a code and its data, so the edges word them like the use
cases' errors (`workflow.errors` re-exports these: `config/` imports nothing of the project).
"""

from __future__ import annotations

from collections.abc import Iterable


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


class ProblemError(Exception):
    """An error that is a `Problem` (`code`, `data`) and the problems under it.

    `problems` lists every problem found (each naming its row, field or key), so a user can
    fix a whole file in one pass; the edges word them one per line under the sentence.
    """

    exit_code = 2

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


class ConfigError(ProblemError, ValueError):
    """A configuration file or setting is malformed; its data name the file, key and line.
    The CLI prints it as bad input (exit 2)."""

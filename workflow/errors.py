"""Errors a use case raises; the CLI maps each to its exit code and one readable sentence."""

from __future__ import annotations


class KiemdiemError(Exception):
    """Base of the errors a user may see; the message is a complete sentence.

    `problems` lists every problem found (each naming its row, field or rule), so a user can
    fix a whole file in one pass; the CLI prints them one per line under the sentence.
    """

    exit_code = 1

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class Refused(KiemdiemError):
    """A valid request the rules refuse (a guard fails, a concurrent change won): exit 1."""

    exit_code = 1


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

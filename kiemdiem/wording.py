"""The edge's words for the core's errors: a `Problem`'s code looked up in the catalogs.

Each code is a msgid of the context `error` in `config/locale/vi.po` and `en.po`; its data
fill the sentence's `{fields}`. A code with a `count` has plural forms. A code missing from
the catalogs shows as itself with its data, never as a traceback (a test keeps every raised
code in both catalogs).
"""

from __future__ import annotations

from config.i18n import npgettext, pgettext
from workflow.errors import KiemdiemError, Label, Problem

CONTEXT = "error"


def say(problem: Problem | KiemdiemError | str) -> str:
    """`problem` as one sentence in the reader's language (a finished sentence passes as is)."""
    if isinstance(problem, str):
        return problem
    if isinstance(problem, KiemdiemError):
        problem = problem.problem
    data = {key: _value(value) for key, value in problem.data.items()}
    count = problem.data.get("count")
    if isinstance(count, int):
        text = npgettext(CONTEXT, problem.code, problem.code, count)
    else:
        text = pgettext(CONTEXT, problem.code)
    if text == problem.code:
        return f"{problem.code} {data}" if data else problem.code
    return text.format(**data)


def said_problems(error: KiemdiemError) -> list[str]:
    """The problems under an error's sentence, one sentence each."""
    return [say(p) for p in error.problems]


def _value(value: object) -> object:
    if isinstance(value, Label):
        return pgettext("value", value)
    if isinstance(value, Problem):
        return say(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(str(_value(v)) for v in value)
    return value

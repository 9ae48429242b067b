"""The edge's words for the core's errors: a `Problem`'s code looked up in the catalogs.

Each code is a msgid of the context `error` in `config/locale/vi.po` and `en.po`; its data
fill the sentence's `{fields}`. A code with a `count` has plural forms. The web asks first in
its own context `web` (a page names no command or flag) and always in Vietnamese. A code
missing from the catalogs shows as itself with its data, never as a traceback (a test keeps
every raised code in both catalogs).
"""

from __future__ import annotations

from collections.abc import Sequence

from config.i18n import language, translations
from workflow.errors import Label, Phrase, Problem, ProblemError

CLI = ("error",)
WEB = ("web", "error")


def say(problem: Problem | ProblemError | str, lang: str | None = None, contexts: Sequence[str] = CLI) -> str:
    """`problem` as one sentence in `lang` (the reader's by default); a finished sentence
    passes as is."""
    if isinstance(problem, str):
        return problem
    if isinstance(problem, ProblemError):
        problem = problem.problem
    catalog = translations(lang or language())
    data = {key: _value(value, lang, contexts) for key, value in problem.data.items()}
    count = problem.data.get("count")
    for context in contexts:
        if isinstance(count, int):
            text = catalog.npgettext(context, problem.code, problem.code, count)
        else:
            text = catalog.pgettext(context, problem.code)
        if text != problem.code:
            return text.format(**data)
    return f"{problem.code} {data}" if data else problem.code


def said_problems(error: ProblemError, lang: str | None = None, contexts: Sequence[str] = CLI) -> list[str]:
    """The problems under an error's sentence, one sentence each."""
    return [say(p, lang, contexts) for p in error.problems]


def on_page(problem: Problem | ProblemError | str) -> str:
    """`problem` as a web page words it: in Vietnamese whatever the server's language, the
    web's own context first (a page names no command or flag); a finished sentence passes."""
    return say(problem, "vi", WEB)


def problems_on_page(error: ProblemError) -> list[str]:
    """The problems under an error's sentence as a web page words them, one sentence each."""
    return said_problems(error, "vi", WEB)


def _value(value: object, lang: str | None, contexts: Sequence[str]) -> object:
    if isinstance(value, Label):
        return translations(lang or language()).pgettext("value", value)
    if isinstance(value, Phrase):
        return translations(lang or language()).gettext(value)
    if isinstance(value, Problem):
        return say(value, lang, contexts)
    if isinstance(value, (list, tuple)):
        return "; ".join(str(_value(v, lang, contexts)) for v in value)
    return value

"""The message catalogs (config/i18n.py): a `.po` file read as gettext reads a `.mo`, and a
Vietnamese entry for every message the code asks for."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import click
import pytest

from config import i18n
from config.i18n import LOCALE_DIR, compile_po, parse_po
from kiemdiem.cli import cli
from tests.e2e.test_cli_language import command_paths
from workflow.results.grounds import KHT_GROUNDS
from workflow.results.rules import CATALOG

ROOT = Path(__file__).parents[2]
PO = '''
# a comment
msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\\nPlural-Forms: nplurals=1; plural=0;\\n"

msgid "Unit {code} not found."
msgstr "Không có đơn vị {code}."

msgctxt "column"
msgid "unit"
msgstr "Đơn vị"

msgid "{count} row"
msgid_plural "{count} rows"
msgstr[0] "{count} dòng"

#, fuzzy
msgid "half done"
msgstr "làm dở"

msgid "Multi"
"line"
msgstr ""
"Nhiều "
"dòng \\"trích\\""

msgid "untranslated"
msgstr ""
'''


def test_a_po_file_reads_as_gettext_reads_a_mo() -> None:
    import gettext
    import io

    catalog = gettext.GNUTranslations(io.BytesIO(compile_po(PO)))
    assert catalog.gettext("Unit {code} not found.") == "Không có đơn vị {code}."
    assert catalog.pgettext("column", "unit") == "Đơn vị"
    assert catalog.gettext("unit") == "unit"  # the context keeps them apart
    assert catalog.ngettext("{count} row", "{count} rows", 5) == "{count} dòng"
    assert catalog.gettext("Multiline") == 'Nhiều dòng "trích"'
    assert catalog.gettext("half done") == "half done"  # fuzzy: not trusted
    assert catalog.gettext("untranslated") == "untranslated"


def test_a_broken_po_file_says_where() -> None:
    with pytest.raises(ValueError, match="line 2: unknown keyword 'msgstring'"):
        parse_po('msgid "a"\nmsgstring "b"\n')


def test_the_language_comes_from_kiemdiem_lang_at_each_call(monkeypatch) -> None:
    monkeypatch.delenv("KIEMDIEM_LANG", raising=False)
    assert i18n._("yes") == "có"
    monkeypatch.setenv("KIEMDIEM_LANG", "en")
    assert i18n._("yes") == "yes" and i18n.pgettext("column", "days_late") == "Days late"
    monkeypatch.setenv("KIEMDIEM_LANG", "klingon")  # refused by Settings; meanwhile the default
    assert i18n._("yes") == "có"


def _asked_for() -> set[tuple[str | None, str]]:
    """Every literal message of `_`, `ngettext`, `pgettext` and `Text` in the code, every
    help text of the CLI, and the rule table's and KHT grounds' texts."""
    asked: set[tuple[str | None, str]] = set()
    sources = [p for package in ("kiemdiem", "workflow", "config", "notifiers", "schedules")
               for p in (ROOT / package).rglob("*.py")]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id in ("_", "Text") and args:
                asked.add((None, args[0]))
            elif node.func.id == "ngettext" and len(args) == 2:
                asked.add((None, args[0] + "\0" + args[1]))
            elif node.func.id == "pgettext" and len(args) == 2:
                asked.add((args[0], args[1]))
    # messages kept as data and translated where shown: the rule table, the KHT grounds
    asked.update((None, info.summary) for info in CATALOG.values())
    asked.update((None, name) for name, _source in KHT_GROUNDS.values())
    for path in command_paths():
        command: click.Command | None = cli
        for name in path:
            command = command.get_command(click.Context(command), name)  # type: ignore[union-attr]
        for item in (command, *command.params):  # type: ignore[union-attr]
            if getattr(item, "help", None):
                asked.add((None, inspect.cleandoc(item.help)))
    return asked


def test_every_message_the_code_asks_for_has_its_vietnamese() -> None:
    vietnamese = parse_po((LOCALE_DIR / "vi.po").read_text(encoding="utf-8"))
    missing = sorted(msgid for key in _asked_for() if key not in vietnamese for msgid in [key[1]])
    assert missing == []

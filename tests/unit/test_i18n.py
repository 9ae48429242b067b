"""The message catalogs (config/i18n.py): a `.po` file read as gettext reads a `.mo`, and a
Vietnamese entry for every message the code asks for."""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections import defaultdict
from pathlib import Path

import click
import pytest

from config import i18n
from config.i18n import LOCALE_DIR, compile_po, parse_po
from kiemdiem.cli import cli
from kiemdiem.wording import WEB, say
from tests.e2e.test_cli_language import command_paths, english_words, vietnamese_letters
from workflow.audit import reason_of, said
from workflow.errors import Conflict, Problem
from workflow.results.grounds import KHT_GROUNDS
from workflow.results.rules import CATALOG, Violation

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


ERROR_CLASSES = {"BadInput", "Refused", "NotFound", "Conflict", "ProgressRefused", "KiemdiemError", "Problem",
                 "ConfigError"}


def _raised_codes() -> set[tuple[str, bool]]:
    """Every literal code a use case or an edge raises or reports, and whether it is raised by
    the web (whose codes may be Vietnamese only, in the context `web`)."""
    codes: set[tuple[str, bool]] = set()
    for package in ("kiemdiem", "workflow", "config", "notifiers", "schedules"):
        for path in (ROOT / package).rglob("*.py"):
            web = "web" in path.relative_to(ROOT).parts
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in ERROR_CLASSES and node.args):
                    continue
                first = node.args[0]
                options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
                codes.update((o.value, web) for o in options
                             if isinstance(o, ast.Constant) and isinstance(o.value, str))
    return codes


def _errors(lang: str, contexts: tuple[str, ...] = ("error",)) -> dict[str, list[str]]:
    entries = parse_po((LOCALE_DIR / f"{lang}.po").read_text(encoding="utf-8"))
    return {msgid.split("\0")[0]: strs for (ctx, msgid), strs in entries.items() if ctx in contexts}


def test_every_error_code_is_worded_in_both_languages() -> None:
    vietnamese, english, web = _errors("vi"), _errors("en"), _errors("vi", ("web",))
    codes = _raised_codes()
    assert len(codes) > 150  # the walk finds the raise sites
    missing = sorted({("vi", code) for code, by_web in codes if code not in vietnamese and not (by_web and code in web)}
                     | {("en", code) for code, by_web in codes if code not in english and not by_web})
    assert missing == []


def test_both_languages_fill_the_same_fields_of_an_error() -> None:
    vietnamese, english = _errors("vi"), _errors("en")
    assert set(vietnamese) == set(english)
    fields = re.compile(r"\{(\w+)\}")
    differ = [code for code in vietnamese
              if {f for s in vietnamese[code] for f in fields.findall(s)}
              != {f for s in english[code] for f in fields.findall(s)}]
    assert differ == []


def test_every_error_reads_in_one_language() -> None:
    """The word lists of the CLI language test, over every error sentence of the catalogs
    (a version conflict or a rare refusal included, which no CLI session may reach)."""
    blank = defaultdict(lambda: "X")
    for code, strs in {**_errors("vi"), **{f"web:{c}": s for c, s in _errors("vi", ("web",)).items()}}.items():
        assert [english_words(s.format_map(blank)) for s in strs] == [[]] * len(strs), code
    for code, strs in _errors("en").items():
        assert [vietnamese_letters(s.format_map(blank)) for s in strs] == [[]] * len(strs), code


def test_an_error_is_worded_from_its_code_and_data_in_the_readers_language(monkeypatch) -> None:
    refusal = Conflict("unit.changed_meanwhile", code="GL-TS")
    monkeypatch.setenv("KIEMDIEM_LANG", "en")
    assert say(refusal).startswith("GL-TS: someone else changed the unit at the same moment")
    assert say(refusal, "vi", WEB).startswith("GL-TS: người khác vừa thay đổi đơn vị")  # the web: no command
    assert "kiemdiem status" in say(refusal, "vi")
    stored = Violation("VOTE_THRESHOLD", "Lan", Problem("rule.vote_threshold", name="Lan", level="HTXS",
                                                         share=Problem("rule.share_over_two_thirds"),
                                                         votes=10, voting=15, need=11)).stored()
    assert json.loads(json.dumps(stored)) == stored
    assert "more than 2/3" in say(Violation.from_stored(stored).message)
    monkeypatch.setenv("KIEMDIEM_LANG", "vi")
    assert "trên 2/3" in say(Violation.from_stored(stored).message)
    older = {"code": "TWO_HEADS", "member": None, "message": "Chi bộ chỉ có một người đứng đầu"}
    assert say(Violation.from_stored(older).message) == older["message"]  # stored before codes: as it was
    assert say(Problem("no.such.code", x=1)) == "no.such.code {'x': 1}"  # never a traceback


def test_an_audit_reason_the_system_wrote_is_worded_when_read_an_older_one_as_stored(monkeypatch) -> None:
    details = said(Problem("audit.parent_aggregated", code="GL-TS"), {"via": "cli"})
    assert json.loads(json.dumps(details)) == details and details["via"] == "cli"
    monkeypatch.setenv("KIEMDIEM_LANG", "en")
    assert say(reason_of(None, details)) == "GL-TS submitted its aggregate report"
    assert say(reason_of(None, details), "vi") == "GL-TS đã gửi báo cáo tổng hợp"
    assert reason_of("bí thư hủy bước vừa báo qua đường dẫn", None) == "bí thư hủy bước vừa báo qua đường dẫn"
    assert reason_of(None, None) is None

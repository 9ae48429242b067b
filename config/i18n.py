"""What a person reads, in one language: `KIEMDIEM_LANG` (`vi`, the default, or `en`).

The messages are gettext catalogs, `config/locale/<lang>.po`, whose source strings (msgids)
are English; `vi.po` gives the Vietnamese, `en.po` only the few labels (column headers, stage
names) whose msgid is a machine name. A `.po` file is compiled in memory, on first use, into
the standard library's `GNUTranslations`: there is no build step, so a fresh clone, an
editable install and the container image all read the same text file.

The language is read from the environment at each call (a cached catalog per language), not
once at import: click renders help texts long after the modules holding them were imported,
and tests run both languages in one process.
"""

from __future__ import annotations

import gettext
import io
import os
import re
import struct
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
LOCALE_DIR = Path(__file__).parent / "locale"
#: the escapes a `.po` string may hold (C's, as msgfmt reads them)
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
ESCAPE = re.compile(r"\\(.)")


def language() -> str:
    """The language of `KIEMDIEM_LANG` (an unknown value is refused by `Settings`, and meanwhile
    read as the default)."""
    lang = os.environ.get("KIEMDIEM_LANG", DEFAULT).strip().lower()
    return lang if lang in LANGUAGES else DEFAULT


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of `lang` (English msgids pass through when it has no entry)."""
    path = LOCALE_DIR / f"{lang}.po"
    if not path.exists():
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(compile_po(path.read_text(encoding="utf-8"))))


def _(message: str) -> str:
    """`message` (an English msgid) in the chosen language."""
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(language()).npgettext(context, singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` in `context` (`column`, `value`…): a machine name shown to a person."""
    return translations(language()).pgettext(context, message)


def parse_po(text: str) -> dict[tuple[str | None, str], list[str]]:
    """The translated entries of a `.po` file: (msgctxt, msgid[\\0msgid_plural]) -> msgstrs.

    Fuzzy and untranslated entries are left out (gettext's own rule), so a missing
    translation falls back to the English msgid rather than to an empty line.
    """
    entries: dict[tuple[str | None, str], list[str]] = {}
    fields: dict[str, str] = {}
    fuzzy = False
    last: str | None = None

    def flush() -> None:
        nonlocal fuzzy
        if "msgid" in fields:
            msgid = fields["msgid"]
            if "msgid_plural" in fields:
                msgid += "\0" + fields["msgid_plural"]
            strs = [fields[k] for k in sorted(k for k in fields if k.startswith("msgstr"))]
            if strs and all(strs) and not (fuzzy and msgid):
                entries[(fields.get("msgctxt"), msgid)] = strs
        fields.clear()
        fuzzy = False

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                flush()
                fuzzy = True
            continue
        if line.startswith('"'):
            if last is None:
                raise ValueError(f"line {number}: a string outside an entry")
            fields[last] += _unquote(line, number)
            continue
        keyword, _sep, value = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in fields):
            flush()
        if keyword.startswith("msgstr[") and keyword.endswith("]"):
            keyword = f"msgstr[{int(keyword[7:-1]):03d}]"
        elif keyword not in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
            raise ValueError(f"line {number}: unknown keyword {keyword!r}")
        fields[keyword] = _unquote(value.strip(), number)
        last = keyword
    flush()
    return entries


def _unquote(text: str, number: int) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"line {number}: a string must be in double quotes")
    return ESCAPE.sub(lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), text[1:-1])


def compile_po(text: str) -> bytes:
    """The `.mo` image of a `.po` text (the layout of CPython's Tools/i18n/msgfmt.py)."""
    pairs = sorted(
        (((ctx + "\x04" if ctx is not None else "") + msgid).encode(), "\0".join(strs).encode())
        for (ctx, msgid), strs in parse_po(text).items())
    header = 7 * 4
    ids_start = header + 16 * len(pairs)
    ids = b"".join(key + b"\0" for key, _v in pairs)
    strs_start = ids_start + len(ids)
    table_ids, table_strs, id_at, str_at = [], [], 0, 0
    for key, value in pairs:
        table_ids += [len(key), ids_start + id_at]
        table_strs += [len(value), strs_start + str_at]
        id_at += len(key) + 1
        str_at += len(value) + 1
    return (struct.pack("<7I", 0x950412DE, 0, len(pairs), header, header + 8 * len(pairs), 0, 0)
            + struct.pack(f"<{len(table_ids) + len(table_strs)}I", *table_ids, *table_strs)
            + ids + b"".join(value + b"\0" for _k, value in pairs))

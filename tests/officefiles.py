"""Write unit files the way Excel and Unikey make them, for the tests of the readers."""

from __future__ import annotations

import unicodedata
from pathlib import Path

#: the tone marks Windows-1258 keeps as combining characters after their letter
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: base letters precomposed, tone marks combining after them."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out += base.encode("cp1258") + "".join(c for c in parts if c in TONES).encode("cp1258")
    return bytes(out)


def decomposed(text: str) -> str:
    """Unikey's "tổ hợp" output: every letter and its marks as separate code points."""
    return unicodedata.normalize("NFD", text)


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """Write `rows` on the first sheet of a workbook (None leaves a cell empty)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path

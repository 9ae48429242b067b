"""The shared reader on the files offices make: encodings, delimiters, Excel, headers, NFC."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import pytest

from tests.helpers import refused
from tests.officefiles import cp1258, decomposed, write_xlsx
from workflow.errors import BadInput
from workflow.tabular import parse_bool, read_rows

ALIASES = {"mã đơn vị": "code", "tên đơn vị": "name", "có cấp ủy": "has_committee"}
TEXT = "Mã đơn vị;Tên đơn vị;Có cấp ủy\nGL-TS;Đảng bộ xã Trà Sơn;có\n;;\n\nGL-TS-T1;Chi bộ thôn Hưng Long;không\n"


def _values(rows):
    return [dict(r.values) for r in rows]


EXPECTED = [{"code": "GL-TS", "name": "Đảng bộ xã Trà Sơn", "has_committee": "có"},
            {"code": "GL-TS-T1", "name": "Chi bộ thôn Hưng Long", "has_committee": "không"}]


@pytest.mark.parametrize("shape", ["utf-8", "utf-8 with BOM", "cp1258", "utf-16 tabs", "decomposed",
                                   "commas", "crlf"])
def test_every_csv_shape_reads_the_same_rows(tmp_path: Path, shape: str) -> None:
    path = tmp_path / "units.csv"
    data = {
        "utf-8": TEXT.encode(),
        "utf-8 with BOM": codecs.BOM_UTF8 + TEXT.encode(),
        "cp1258": cp1258(TEXT),
        "utf-16 tabs": TEXT.replace(";", "\t").encode("utf-16"),  # Excel's "Unicode Text"
        "decomposed": decomposed(TEXT).encode(),
        "commas": TEXT.replace(";", ",").encode(),
        "crlf": TEXT.replace("\n", "\r\n").encode(),
    }[shape]
    path.write_bytes(data)
    columns, rows = read_rows(path, aliases=ALIASES)
    assert columns == ["code", "name", "has_committee"]
    assert _values(rows) == EXPECTED
    assert [r.line for r in rows] == [2, 5]
    assert all(unicodedata.is_normalized("NFC", v) for r in rows for v in r.values.values())


def test_headers_match_in_any_case_and_without_diacritics(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("MÃ ĐƠN VỊ, Ten don vi ,CODE\nA,B,C\n", encoding="utf-8")
    with refused(BadInput, "cột 'code' có hai lần"):
        read_rows(path, aliases=ALIASES)
    path.write_text("MÃ ĐƠN VỊ, Ten don vi ,Ghi chú\nA,B,C\n", encoding="utf-8")
    columns, _ = read_rows(path, aliases=ALIASES)
    assert columns == ["code", "name", "Ghi chú"]


def test_a_named_encoding_wins_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(cp1258(TEXT))
    assert _values(read_rows(path, aliases=ALIASES, encoding="cp1258")[1]) == EXPECTED
    with refused(BadInput, "không biết bảng mã"):
        read_rows(path, encoding="tcvn-9")


def test_xlsx_first_sheet_header_in_the_first_non_empty_row(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "units.xlsx", [
        [None, None, None],
        ["Mã đơn vị", "Tên đơn vị", "Điện thoại"],
        ["GL-TS", decomposed("Đảng bộ xã Trà Sơn"), 912345678],
        [None, None, None],
        ["GL-TS-T1", "Chi bộ 1", 84912000001.0],
    ])
    columns, rows = read_rows(path, aliases={**ALIASES, "điện thoại": "phone"})
    assert columns == ["code", "name", "phone"]
    assert _values(rows) == [{"code": "GL-TS", "name": "Đảng bộ xã Trà Sơn", "phone": "912345678"},
                             {"code": "GL-TS-T1", "name": "Chi bộ 1", "phone": "84912000001"}]
    assert [r.line for r in rows] == [3, 5]


@pytest.mark.parametrize("data", [b"\x00\x9f\xff\xfe" * 100, b"\x1b\x02garbage\x07"])
def test_what_is_no_text_is_refused_in_one_sentence(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(data)
    with refused(BadInput, "không phải tệp văn bản"):
        read_rows(path)
    broken = tmp_path / "units.xlsx"
    broken.write_bytes(data)
    with refused(BadInput, "không phải tệp Excel"):
        read_rows(broken)


def test_yes_no_cells_read_in_decomposed_vietnamese_and_upper_case() -> None:
    assert parse_bool(decomposed("có")) is True and parse_bool("CÓ") is True
    assert parse_bool(decomposed("Không")) is False


def test_an_excel_file_named_csv_is_told_to_be_renamed(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "units.xlsx", [["code"], ["A"]]).rename(tmp_path / "units.csv")
    with refused(BadInput, "đổi tên thành .xlsx"):
        read_rows(path)

"""Units files as offices make them, and re-imports that lose nothing, on both databases."""

from __future__ import annotations

import codecs

from sqlalchemy import select

from tests.helpers import HEADER, SAMPLE_UNITS, run, run_json
from tests.officefiles import cp1258, decomposed, write_xlsx
from workflow.models import AuditEntry, Unit

VN_HEADER = "Mã đơn vị;Tên đơn vị;Cấp;Mã cấp trên;Bí thư;Email;Zalo;Điện thoại;Có cấp ủy;Hoạt động\n"


def _tree(db, code: str = "GL") -> dict[str, dict]:
    return {r["code"]: r for r in run_json(db.url, "units", "tree", code)}


def test_excel_semicolon_csv_in_cp1258_with_vietnamese_headers_and_unikey_text(db, tmp_path):
    body = (VN_HEADER
            + "gl;Đảng bộ tỉnh Gia Lai;Tỉnh ủy, Thành ủy;;Nguyễn Văn Hùng;;;;có;có\n"
            + ";;;;;;;;;\n"
            + decomposed("gl-ts;Đảng bộ xã Trà Sơn;BASE;GL;Trần Thị Mai;;;912345678;có;\n"))
    path = tmp_path / "don_vi.csv"
    path.write_bytes(cp1258(body))
    result = run(db.url, "units", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "dòng 4 (gl-ts): số di động '912345678' thiếu số 0 đầu; đã sửa thành 0912345678" in result.stderr
    tree = _tree(db)
    assert tree["GL"]["name"] == "Đảng bộ tỉnh Gia Lai" and tree["GL"]["level"] == "province"
    assert tree["GL-TS"] == {**tree["GL-TS"], "name": "Đảng bộ xã Trà Sơn", "secretary": "Trần Thị Mai",
                             "phone": "0912345678", "has_committee": True, "parent": "GL"}


def test_unicode_text_and_xlsx_exports_import_alike(db, tmp_path):
    rows = [["MÃ ĐƠN VỊ", "TÊN ĐƠN VỊ", "CẤP", "MÃ CẤP TRÊN", "ĐIỆN THOẠI", "EMAIL"],
            ["P", "Tỉnh ủy", "province", None, "024 3825 3536", "vp@bưu.vn"],
            [None, None, None, None, None, None],
            ["P-B", "Đảng ủy xã", "base", "p", 912345678, None]]
    tsv = tmp_path / "don_vi.txt"
    tsv.write_bytes("\n".join("\t".join("" if c is None else str(c) for c in r) for r in rows).encode("utf-16"))
    result = run(db.url, "units", "import", str(tsv))
    assert result.exit_code == 0, result.stderr
    assert "dòng 2 (P): '024 3825 3536' là số máy bàn" in result.stderr
    first = _tree(db, "P")
    assert first["P"]["phone"] == "02438253536" and first["P"]["email"] == "vp@xn--bu-d0a.vn"
    xlsx = write_xlsx(tmp_path / "don_vi.xlsx", [[None], *rows])
    again = run(db.url, "units", "import", str(xlsx))
    assert again.exit_code == 0, again.stderr
    assert "0 đơn vị mới, 0 cập nhật, 0 ngừng hoạt động, 2 không đổi" in again.stdout
    assert _tree(db, "P") == first


def test_a_non_ascii_mailbox_is_refused_by_line(db, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(HEADER + "P,Tỉnh,province,,,Nguyễn@bưu.vn,,,yes\n", encoding="utf-8")
    result = run(db.url, "units", "import", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "dòng 2 (P): 'Nguyễn@bưu.vn': phần trước @ có chữ có dấu" in result.stderr


def test_codes_are_one_unit_in_any_case_and_a_file_may_not_hold_both(db, tmp_path):
    assert run(db.url, "units", "import", str(SAMPLE_UNITS)).exit_code == 0
    path = tmp_path / "units.csv"
    path.write_text("code,name,level,parent\ngl-ts,Đảng bộ xã Trà Sơn mới,base,gl\n", encoding="utf-8")
    result = run(db.url, "units", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "0 đơn vị mới, 1 cập nhật" in result.stdout
    assert run_json(db.url, "units", "tree", "gl-ts")[0]["name"] == "Đảng bộ xã Trà Sơn mới"
    path.write_text("code,name,level,parent\nGL-X,Xã X,base,GL\ngl-x,Xã x,base,GL\n", encoding="utf-8")
    clash = run(db.url, "units", "import", str(path))
    assert clash.exit_code == 2 and "dòng 3 (GL-X): trùng mã với dòng 2" in clash.stderr


def test_a_tree_only_reimport_keeps_every_contact(db, tmp_path):
    assert run(db.url, "units", "import", str(SAMPLE_UNITS)).exit_code == 0
    before = _tree(db)
    lines = SAMPLE_UNITS.read_text(encoding="utf-8").splitlines()[1:]
    path = tmp_path / "tree.csv"
    path.write_text("code,name,level,parent\n" + "\n".join(",".join(line.split(",")[:4]) for line in lines)
                    + "\n", encoding="utf-8")
    result = run(db.url, "units", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "0 cập nhật" in result.stdout and "17 không đổi" in result.stdout
    assert _tree(db) == before


def test_empty_cells_keep_stored_values_unless_clear_empty(db, tmp_path):
    assert run(db.url, "units", "import", str(SAMPLE_UNITS)).exit_code == 0
    path = tmp_path / "units.csv"
    path.write_text(HEADER + "GL-TS-TH,Chi bộ Trường Tiểu học Trà Sơn,cell,GL-TS,,,,,\n", encoding="utf-8")
    before = _tree(db, "GL-TS-TH")["GL-TS-TH"]
    assert before["email"] and before["secretary"]
    kept = run(db.url, "units", "import", str(path))
    assert kept.exit_code == 0, kept.stderr
    assert "0 cập nhật" in kept.stdout and "ô trống giữ nguyên giá trị cũ" in kept.stdout
    assert _tree(db, "GL-TS-TH")["GL-TS-TH"] == before
    cleared = run(db.url, "units", "import", str(path), "--clear-empty")
    assert cleared.exit_code == 0 and "1 cập nhật" in cleared.stdout
    after = _tree(db, "GL-TS-TH")["GL-TS-TH"]
    assert (after["secretary"], after["email"], after["phone"]) == (None, None, None)


def test_units_not_in_the_file_are_listed_and_deactivated_only_when_asked(db, tmp_path):
    assert run(db.url, "units", "import", str(SAMPLE_UNITS)).exit_code == 0
    lines = SAMPLE_UNITS.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("GL-TS-YT,")]
    path = tmp_path / "units.csv"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    listed = run(db.url, "units", "import", str(path))
    assert listed.exit_code == 0 and "1 đơn vị không có trong tệp" in listed.stdout
    assert "GL-TS-YT" in listed.stderr and _tree(db, "GL-TS-YT")["GL-TS-YT"]["active"] is True
    gone = run(db.url, "units", "import", str(path), "--deactivate-missing")
    assert gone.exit_code == 0 and "1 ngừng hoạt động" in gone.stdout
    assert _tree(db, "GL-TS-YT")["GL-TS-YT"]["active"] is False
    deactivated = [e for e in run_json(db.url, "audit", "GL-TS-YT") if e["action"] == "unit.deactivate"]
    assert [e["reason"] for e in deactivated] == ["không có trong tệp"]
    orphan = [line for line in lines if not line.startswith("GL-TS,")]
    path.write_text("\n".join(orphan) + "\n", encoding="utf-8")
    refused = run(db.url, "units", "import", str(path), "--deactivate-missing")
    assert refused.exit_code == 2 and "cấp trên 'GL-TS' không có trong tệp" in refused.stderr


def test_dry_run_prints_the_whole_change_and_writes_nothing(db, tmp_path):
    assert run(db.url, "units", "import", str(SAMPLE_UNITS)).exit_code == 0
    lines = SAMPLE_UNITS.read_text(encoding="utf-8").splitlines()
    changed = [line.replace("Đỗ Thị Lệ", "Mai Văn Tín") for line in lines if not line.startswith("GL-TS-YT,")]
    changed.append("GL-TS-T9,Chi bộ thôn 9,cell,GL-TS,,,,,no")
    path = tmp_path / "units.csv"
    path.write_bytes(codecs.BOM_UTF8 + ("\n".join(changed) + "\n").encode())
    with db.session() as s:
        audit_before = s.query(AuditEntry).count()
    before = _tree(db)
    result = run(db.url, "units", "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "+ GL-TS-T9" in out
    assert "~ GL-TS-THCS: secretary: Đỗ Thị Lệ → Mai Văn Tín" in out
    assert "? GL-TS-YT: không có trong tệp" in out
    assert "Chạy thử units.csv, chưa ghi gì: 1 đơn vị mới, 1 cập nhật" in out
    assert _tree(db) == before
    with db.session() as s:
        assert s.query(AuditEntry).count() == audit_before
        assert s.scalar(select(Unit).where(Unit.code == "GL-TS-T9")) is None


def test_upgrading_upper_cases_stored_codes_and_stops_on_a_clash(db_url):
    import pytest
    from sqlalchemy import text

    from workflow.db import Database
    from workflow.schema import upgrade

    database = Database(db_url)
    try:
        upgrade(database, "0003_outbox_without_foreign_keys")
        insert = text("INSERT INTO units (id, code, name, level, path, depth, has_committee, active, "
                      "created_at, updated_at) VALUES (:id, :code, 'x', 'base', :path, 0, false, true, "
                      "'2026-11-01 00:00:00', '2026-11-01 00:00:00')")
        with database.engine.begin() as conn:
            conn.execute(insert, [{"id": 1, "code": "gl-ts", "path": "/1/"},
                                  {"id": 2, "code": "GL-TS", "path": "/2/"}])
        with pytest.raises(RuntimeError, match="GL-TS"):
            upgrade(database)
        with database.engine.begin() as conn:
            conn.execute(text("UPDATE units SET code = 'gl-tt' WHERE id = 1"))
        upgrade(database)
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT code FROM units ORDER BY id")).scalars().all() == ["GL-TT", "GL-TS"]
    finally:
        database.dispose()

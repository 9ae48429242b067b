"""Importing the unit tree: all rows or none, every bad row named by line, updates in place."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.helpers import SAMPLE_UNITS, run, run_json, write_units
from workflow.models import AuditEntry, Unit


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Unit))


def test_sample_tree_imports_with_paths_and_levels(db):
    result = run(db.url, "units", "import", str(SAMPLE_UNITS))
    assert result.exit_code == 0, result.stderr
    assert "17 đơn vị mới" in result.stdout
    tree = run_json(db.url, "units", "tree", "GL-TS")
    assert [r["code"] for r in tree] == ["GL-TS", "GL-TS-THCS", "GL-TS-TH", "GL-TS-T1", "GL-TS-T2", "GL-TS-YT"]
    assert tree[1]["parent"] == "GL-TS" and tree[1]["has_committee"] is True
    with db.session() as s:
        cell = s.scalar(select(Unit).where(Unit.code == "GL-TS-THCS"))
        base = s.scalar(select(Unit).where(Unit.code == "GL-TS"))
        assert cell.path.startswith(base.path) and cell.depth == base.depth + 1


def test_reimport_updates_in_place_and_audits_the_change(db, tmp_path):
    run(db.url, "units", "import", str(SAMPLE_UNITS))
    text = SAMPLE_UNITS.read_text(encoding="utf-8")
    text = text.replace("Đỗ Thị Lệ,chibo.thcs@traso.example.vn", "Mai Văn Tín,tin.mai@traso.example.vn")
    updated = tmp_path / "units.csv"
    updated.write_text(text.replace("code,name,level,parent,secretary,email,zalo_user_id,phone,has_committee",
                                    "code,name,level,parent,secretary,email,zalo_user_id,phone,has_committee,active")
                       .replace(",0912000017,no", ",0912000017,no,không"), encoding="utf-8")
    result = run(db.url, "units", "import", str(updated))
    assert result.exit_code == 0, result.stderr
    assert "0 đơn vị mới, 1 cập nhật, 1 ngừng hoạt động, 15 không đổi" in result.stdout
    assert _count(db) == 17
    with db.session() as s:
        cell = s.scalar(select(Unit).where(Unit.code == "GL-TS-THCS"))
        assert (cell.secretary, cell.email) == ("Mai Văn Tín", "tin.mai@traso.example.vn")
        assert s.scalar(select(Unit.active).where(Unit.code == "GL-TS-YT")) is False
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "unit.update"))
        assert entry.details["changes"]["secretary"] == ["Đỗ Thị Lệ", "Mai Văn Tín"]


def test_moving_a_unit_rewrites_the_paths_of_its_subtree(db, tmp_path):
    run(db.url, "units", "import", str(SAMPLE_UNITS))
    moved = write_units(tmp_path, "GL-PC-CH,Đảng bộ xã Cát Hanh,base,GL,Trương Văn Lực,,,,yes\n")
    assert run(db.url, "units", "import", str(moved)).exit_code == 0
    with db.session() as s:
        province = s.scalar(select(Unit).where(Unit.code == "GL"))
        base = s.scalar(select(Unit).where(Unit.code == "GL-PC-CH"))
        cell = s.scalar(select(Unit).where(Unit.code == "GL-PC-CH-T1"))
        assert base.path == f"{province.path}{base.id}/"
        assert cell.path == f"{base.path}{cell.id}/" and cell.depth == 2


def test_moving_a_unit_also_moves_the_units_the_file_lists_unchanged_under_it(db, tmp_path):
    run(db.url, "units", "import", str(SAMPLE_UNITS))
    lines = SAMPLE_UNITS.read_text(encoding="utf-8").splitlines()
    child = next(line for line in lines if line.startswith("GL-PC-CH-T1,"))
    moved = write_units(tmp_path, "GL-PC-CH,Đảng bộ xã Cát Hanh,base,GL,Trương Văn Lực,,,,yes\n"
                        + child + "\n")
    result = run(db.url, "units", "import", str(moved))
    assert result.exit_code == 0, result.stderr
    assert "1 cập nhật, 0 ngừng hoạt động, 1 không đổi" in result.stdout
    tree = run_json(db.url, "units", "tree", "GL")
    assert {"GL-PC-CH", "GL-PC-CH-T1"} <= {r["code"] for r in tree}
    with db.session() as s:
        base = s.scalar(select(Unit).where(Unit.code == "GL-PC-CH"))
        cell = s.scalar(select(Unit).where(Unit.code == "GL-PC-CH-T1"))
        assert cell.path == f"{base.path}{cell.id}/" and cell.depth == 2


def test_a_file_with_bad_rows_writes_nothing_and_lists_every_row(db, tmp_path):
    bad = write_units(tmp_path, "\n".join([
        "P,Tỉnh,province,,,,,,yes",                        # line 2: fine
        "B1,Xã A,base,NOWHERE,,,,,no",                     # 3: unknown parent
        "B1,Xã A lặp,base,P,,,,,no",                       # 4: duplicate code
        "C1,Chi bộ,cell,P,,,,,no",                         # 5: a cell cannot sit under a province
        "B2,Xã B,base,P,,not-an-email,,,no",               # 6: bad email
        "B3,Xã C,base,P,,,,12345,no",                      # 7: bad phone
        "X1,Vòng 1,base,X2,,,,,no",                        # 8: cycle X1 -> X2 -> X1
        "X2,Vòng 2,district,X1,,,,,no",                    # 9
        "B4,Xã D,commune,P,,,,,no",                        # 10: unknown level
        "B5,Xã E,base,P,,,,,maybe",                        # 11: not yes/no
    ]) + "\n")
    result = run(db.url, "units", "import", str(bad))
    assert result.exit_code == 2
    err = result.stderr
    for expected in ("dòng 3 (B1): cấp trên 'NOWHERE'", "dòng 4 (B1): trùng mã với dòng 3",
                     "dòng 5 (C1): một 'cell' không thể nằm dưới 'P'",
                     "dòng 6 (B2): 'not-an-email' không phải địa chỉ email",
                     "dòng 7 (B3): '12345' không phải số điện thoại", "các cấp trên tạo thành vòng",
                     "dòng 10 (B4): cấp 'commune'", "dòng 11 (B5): has_committee 'maybe'"):
        assert expected in err, expected
    assert "Traceback" not in err
    assert _count(db) == 0


def test_unknown_columns_and_unreadable_files_are_bad_input(db, tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("code,name,level,secretery\nP,Tỉnh,province,x\n", encoding="utf-8")
    result = run(db.url, "units", "import", str(odd))
    assert result.exit_code == 2 and "cột không biết: secretery" in result.stderr
    missing = run(db.url, "units", "import", str(tmp_path / "missing.csv"))
    assert missing.exit_code == 2 and "không có tệp này" in missing.stderr
    binary = tmp_path / "units.xls"
    binary.write_bytes(b"\x00\x01")
    assert run(db.url, "units", "import", str(binary)).exit_code == 2
    assert _count(db) == 0


def test_yaml_units_import_with_line_numbers(db, tmp_path):
    path = tmp_path / "units.yaml"
    path.write_text(
        "units:\n"
        "  - {code: P, name: Tỉnh ủy, level: province, has_committee: có}\n"
        "  - {code: B, name: Đảng ủy xã, level: base, parent: P, phone: '+84 912 345 678'}\n"
        "  - {code: C, name: Chi bộ, level: cell, parent: Q}\n", encoding="utf-8")
    result = run(db.url, "units", "import", str(path))
    assert result.exit_code == 2 and "dòng 4 (C): cấp trên 'Q'" in result.stderr
    path.write_text(path.read_text(encoding="utf-8").replace("parent: Q", "parent: B"), encoding="utf-8")
    assert run(db.url, "units", "import", str(path)).exit_code == 0
    rows = {r["code"]: r for r in run_json(db.url, "units", "tree")}
    assert rows["B"]["phone"] == "0912345678" and rows["P"]["has_committee"] is True


def test_deactivating_a_parent_whose_children_stay_active_is_refused(db, tmp_path):
    run(db.url, "units", "import", str(SAMPLE_UNITS))
    path = tmp_path / "units.csv"
    path.write_text("code,name,level,parent,active\nGL-TS,Đảng bộ xã Trà Sơn,base,GL,no\n", encoding="utf-8")
    result = run(db.url, "units", "import", str(path))
    assert result.exit_code == 2 and "không thể ngừng hoạt động khi" in result.stderr

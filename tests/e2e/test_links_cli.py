"""`kiemdiem links show|revoke|export` on both databases."""

from __future__ import annotations

from openpyxl import load_workbook

from tests.helpers import run, seeded


def _env(monkeypatch):
    monkeypatch.setenv("KIEMDIEM_SECRET_KEY", "khoa-bi-mat-chi-dung-trong-thu-nghiem-0123456789")
    monkeypatch.setenv("KIEMDIEM_PUBLIC_URL", "https://kiemdiem.example.vn")


def test_show_prints_the_same_link_each_time_and_revoke_replaces_it(db_url, monkeypatch):
    _env(monkeypatch)
    seeded(db_url)
    first = run(db_url, "links", "show", "GL-TS-T1")
    assert first.exit_code == 0, first.stderr
    link = first.stdout.strip()
    assert link.startswith("https://kiemdiem.example.vn/r/") and len(link.rsplit("/", 1)[1]) == 43
    assert run(db_url, "links", "show", "GL-TS-T1").stdout.strip() == link
    assert run(db_url, "links", "show", "GL-TS-T2").stdout.strip() != link
    revoked = run(db_url, "links", "revoke", "GL-TS-T1")
    assert revoked.exit_code == 0 and "Đã thu hồi đường dẫn cũ của GL-TS-T1" in revoked.stdout
    new = revoked.stdout.strip().splitlines()[-1]
    assert new != link and run(db_url, "links", "show", "GL-TS-T1").stdout.strip() == new
    audit = run(db_url, "audit", "GL-TS-T1", "--json")
    assert "link.revoke" in audit.stdout


def test_a_different_key_gives_different_links(db_url, monkeypatch):
    _env(monkeypatch)
    seeded(db_url)
    link = run(db_url, "links", "show", "GL-TS-T1").stdout.strip()
    monkeypatch.setenv("KIEMDIEM_SECRET_KEY", "mot-khoa-khac-hoan-toan-cho-thu-nghiem-987654321")
    assert run(db_url, "links", "show", "GL-TS-T1").stdout.strip() != link


def test_export_lists_every_unit_under_a_code(db_url, monkeypatch, tmp_path):
    _env(monkeypatch)
    seeded(db_url)
    out = tmp_path / "duong-dan.xlsx"
    result = run(db_url, "links", "export", "--under", "GL-TS", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Mã đơn vị" and [r[0] for r in rows[1:]][0] == "GL-TS"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:H{len(rows)}"
    phones = [row[6] for row in sheet.iter_rows(min_row=2) if row[6].value]
    assert phones and all(c.data_type == "s" and c.value.startswith("09") for c in phones)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    assert len(rows) == 1 + 6 and all(r[7].startswith("https://kiemdiem.example.vn/r/") for r in rows[1:])
    shown = run(db_url, "links", "show", "GL-TS-YT").stdout.strip()
    assert shown in [r[7] for r in rows]


def test_bad_input_is_one_sentence(db_url, monkeypatch, tmp_path):
    _env(monkeypatch)
    seeded(db_url)
    unknown = run(db_url, "links", "show", "KHONG-CO")
    assert unknown.exit_code != 0 and "KHONG-CO" in unknown.stderr and "Traceback" not in unknown.stderr
    wrong = run(db_url, "links", "export", "-o", str(tmp_path / "a.csv"))
    assert wrong.exit_code == 2 and ".xlsx" in wrong.stderr
    monkeypatch.setenv("KIEMDIEM_SECRET_KEY", "ngan")
    short = run(db_url, "links", "show", "GL-TS-T1")
    assert short.exit_code == 2 and "KIEMDIEM_SECRET_KEY" in short.stderr

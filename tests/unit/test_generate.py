"""The national tree generator: deterministic, exact in its counts, true to the hierarchy."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.generate import NATIONAL_MEMBERS, NATIONAL_UNITS, apportion, generate, main
from benchmarks.names import PROVINCES
from config.addresses import EMAIL_RE
from config.addresses import mobile_number as normalise_phone
from config.hierarchy import load_hierarchy
from config.plan import load_plan

UNITS = 4_000


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module", params=["2025", "four_tier"])
def country(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp(f"country-{request.param}")
    summary = generate(out, units=UNITS, seed=7, variant=request.param)
    return request.param, out, summary


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", units=2_500, seed=11)
    b = generate(tmp_path / "b", units=2_500, seed=11)
    generate(tmp_path / "c", units=2_500, seed=12)
    for name in ("units.csv", "members.csv", "plan.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "units.csv").read_bytes() != (tmp_path / "c" / "units.csv").read_bytes()
    assert a.by_level == b.by_level


def test_exact_totals_and_34_provinces(country) -> None:
    _variant, out, summary = country
    rows = _rows(out / "units.csv")
    assert len(rows) == UNITS == summary.units
    levels = Counter(r["level"] for r in rows)
    assert levels["province"] == len(PROVINCES) == 34
    assert sum(p.city for p in PROVINCES) == 6
    assert sum(p.communes for p in PROVINCES) == 3_321
    assert len({r["code"] for r in rows}) == len(rows)
    members = _rows(out / "members.csv")
    assert sum(int(m["members"]) for m in members) == round(NATIONAL_MEMBERS * UNITS / NATIONAL_UNITS)
    assert {m["code"] for m in members} == {r["code"] for r in rows if r["level"] == "cell"}
    assert min(int(m["members"]) for m in members) >= 3


def test_every_parent_is_allowed_by_the_hierarchy(country) -> None:
    variant, out, _ = country
    hierarchy = load_hierarchy(variant)
    rows = _rows(out / "units.csv")
    level_of = {r["code"]: r["level"] for r in rows}
    for row in rows:
        parent = row["parent"] or None
        assert (parent is None) == (row["level"] == "province"), row
        if parent is not None:
            assert parent in level_of, row
            assert hierarchy.may_sit_under(row["level"], level_of[parent]), row


def test_contacts_pass_the_import_rules_and_names_carry_diacritics(country) -> None:
    _variant, out, _ = country
    rows = _rows(out / "units.csv")
    for row in rows:
        assert not row["email"] or EMAIL_RE.match(row["email"]), row
        assert not row["phone"] or normalise_phone(row["phone"]) == row["phone"], row
        assert row["phone"][:2] in ("", "09", "03")
        assert row["has_committee"] in ("yes", "no")
    assert any("Đảng ủy Ủy ban nhân dân" in r["name"] for r in rows) or \
        any("Khối" in r["name"] for r in rows)
    assert sum(1 for r in rows if r["zalo_user_id"]) > len(rows) // 10


def test_the_plan_is_valid_for_both_hierarchies(country) -> None:
    variant, out, _ = country
    plan = load_plan(out / "plan.yaml")
    plan.check_against(load_hierarchy(variant))
    assert plan.year == 2026


def test_apportion_adds_up_and_respects_the_minimum() -> None:
    parts = apportion(100, [1.0, 2.0, 3.3, 0.01], minimum=5)
    assert sum(parts) == 100 and min(parts) >= 5
    with pytest.raises(ValueError):
        apportion(3, [1.0, 1.0], minimum=2)


def test_cli_refuses_a_tree_too_small_for_34_provinces(tmp_path: Path, capsys) -> None:
    assert main(["--units", "100", "--out", str(tmp_path)]) == 2
    assert "too small" in capsys.readouterr().err

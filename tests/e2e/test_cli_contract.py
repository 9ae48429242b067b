"""The CLI contract of DESIGN.md: keys of every listing, exit codes, messages, nothing half-written."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from tests.helpers import SAMPLE_PLAN, SAMPLE_UNITS, run, run_json, seeded
from workflow.models import Campaign, Cycle

NOW = "2026-11-21T09:00"


def test_listing_keys_follow_the_contract(db):
    seeded(db.url)
    status = run_json(db.url, "status", "GL", now=NOW)
    assert list(status[0]) == ["unit", "name", "level", "state", "next_stage", "deadline", "overdue", "days_late"]
    overdue = run_json(db.url, "overdue", now=NOW)
    assert list(overdue[0]) == ["unit", "name", "level", "stage", "deadline", "days_late", "secretary"]
    tree = run_json(db.url, "units", "tree")
    assert list(tree[0])[:9] == ["code", "name", "level", "parent", "secretary", "email", "zalo_user_id",
                                 "phone", "has_committee"]
    audit = json.loads(run(db.url, "audit", "--json").stdout)
    assert audit[0]["action"] == "campaign.create" and audit[0]["at"].endswith("+07:00")


def test_tables_are_readable_vietnamese(db):
    seeded(db.url)
    result = run(db.url, "status", "GL-TS", now=NOW)
    assert result.exit_code == 0
    assert "Tiến độ đợt 2026" in result.stdout and "10/11/2026" in result.stdout
    tree = run(db.url, "units", "tree", "GL-PC")
    assert "Chi bộ Trường THPT số 2 Phù Cát" in tree.stdout and "bí thư Nguyễn Thị Hạnh" in tree.stdout


def test_the_database_url_may_come_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("KIEMDIEM_DATABASE_URL", db.url)
    from click.testing import CliRunner

    from kiemdiem.cli import cli
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    assert CliRunner().invoke(cli, ["units", "import", str(SAMPLE_UNITS)]).exit_code == 0


def test_commands_before_init_ask_for_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run(url, "status")
    assert result.exit_code == 1 and "kiemdiem init" in result.stderr


def test_a_plan_for_another_year_or_contradicting_itself_writes_nothing(db, tmp_path):
    run(db.url, "init")
    run(db.url, "units", "import", str(SAMPLE_UNITS))
    wrong_year = run(db.url, "campaign", "create", "2025", "--plan", str(SAMPLE_PLAN))
    assert wrong_year.exit_code == 2 and "là kế hoạch năm 2026, không phải năm 2025" in wrong_year.stderr
    backwards = tmp_path / "plan.yaml"
    backwards.write_text(SAMPLE_PLAN.read_text(encoding="utf-8").replace(
        "district:\n    forms_submitted: {before: 2026-12-20}", "district:\n    forms_submitted: {before: 2027-02-20}"),
        encoding="utf-8")
    result = run(db.url, "campaign", "create", "2026", "--plan", str(backwards))
    assert result.exit_code == 2
    expected = "deadlines.district.forms_submitted (trước ngày 20/02/2027) đến hạn sau deadlines.province"
    assert expected in result.stderr
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 0
        assert s.scalar(select(func.count()).select_from(Cycle)) == 0


def test_a_campaign_can_be_issued_under_one_root(db):
    run(db.url, "init")
    run(db.url, "units", "import", str(SAMPLE_UNITS))
    result = run(db.url, "campaign", "create", "2026", "--plan", str(SAMPLE_PLAN), "--root", "GL-PC")
    assert result.exit_code == 0 and "5 chu kỳ" in result.stdout
    outside = run(db.url, "advance", "GL-TS", "--to", "reports_prepared", now=NOW)
    assert outside.exit_code == 2 and "không có chu kỳ trong đợt kiểm điểm 2026" in outside.stderr


def test_campaign_ensure_is_idempotent(db):
    seeded(db.url)
    result = run(db.url, "campaign", "ensure", "2026", "--plan", str(SAMPLE_PLAN))
    assert result.exit_code == 0 and "đã có; thêm 0 chu kỳ" in result.stdout


def test_unknown_year_unit_and_options_are_bad_input(db):
    seeded(db.url)
    assert run(db.url, "status", "--year", "2031").exit_code == 2
    assert run(db.url, "status", "NOPE").exit_code == 2
    both = run(db.url, "advance", "GL-TS", "--to", "reports_prepared", "--event", "prepare_reports")
    assert both.exit_code == 2 and "cho đúng một trong hai: --to STAGE hoặc --event EVENT" in both.stderr
    assert run(db.url, "overdue", "--as-of", "hôm qua").exit_code == 2


def test_diagram_prints_mermaid():
    result = run("sqlite://", "diagram")
    assert result.exit_code == 0 and result.stdout.startswith("stateDiagram-v2")


def test_names_print_literally_in_every_table(db, tmp_path):
    """Brackets and colons are data: "[sáp nhập]" is kept, "[/]" breaks nothing, ":repeat:"
    stays text (rich would read them as markup or emoji)."""
    seeded(db.url)
    units = tmp_path / "renamed.csv"
    units.write_text(
        "code,name,level,parent,secretary,email,zalo_user_id,phone,has_committee\n"
        "GL-TS,Đảng bộ xã Trà Sơn [/] :repeat:,base,GL,Hồ Văn Dũng,dangbo.traso@traso.example.vn,,,yes\n"
        "GL-TS-T1,Chi bộ thôn 3 [sáp nhập],cell,GL-TS,[bold]Nguyễn Văn Tư,,,0912000015,no\n",
        encoding="utf-8")
    assert run(db.url, "units", "import", str(units)).exit_code == 0
    status = run(db.url, "status", "GL-TS", now=NOW)
    tree = run(db.url, "units", "tree", "GL-TS")
    overdue = run(db.url, "overdue", "--under", "GL-TS", now=NOW)
    for result in (status, tree, overdue):
        assert result.exit_code == 0, result.stderr
        assert "Chi bộ thôn 3 [sáp nhập]" in result.stdout
        assert "Đảng bộ xã Trà Sơn [/] :repeat:" in result.stdout or result is overdue
        assert "🔁" not in result.stdout
    assert "[bold]Nguyễn Văn Tư" in tree.stdout


def test_rule_violations_print_one_per_line_never_as_a_tuple(db, tmp_path):
    seeded(db.url)
    for stage in ("reports_prepared", "cell_met"):
        assert run(db.url, "advance", "GL-TS-T1", "--to", stage, now=NOW).exit_code == 0
    counts = tmp_path / "counts.csv"
    counts.write_text("HTXS,HTT,HT,KHT,not_classified,pending,exempt\n5,1,0,0,0,0,0\n", encoding="utf-8")
    refused = run(db.url, "results", "submit", "GL-TS-T1", str(counts), now=NOW)
    assert refused.exit_code == 1
    first, *rest = refused.stderr.strip().splitlines()
    assert first.startswith("Lỗi: GL-TS-T1: kết quả vi phạm") and "('" not in refused.stderr
    assert rest and all(line.startswith("  - ") for line in rest)
    assert any("QUOTA" in line for line in rest)

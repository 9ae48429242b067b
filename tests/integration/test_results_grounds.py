"""Ceilings, grounds, collectives and settings through the CLI, on both backends; the README's
results examples pass `results check` as printed, and its rule table is the code's."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select

from tests.helpers import SAMPLE_UNITS, run, seeded, submit_results
from workflow.models import Cycle, Unit, UnitResult
from workflow.results.validator import rule_table_markdown

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PLAN = ROOT / "config" / "plans" / "2026.yaml"
NOW = "2026-11-17T09:00"
CELL = "GL-TS-T1"
CELLS = ("GL-TS-THCS", "GL-TS-TH", "GL-TS-T1", "GL-TS-T2", "GL-TS-YT")
HEADER = "name,level,votes_for,full_members_voting,score_general,score_tasks,tasks_total,tasks_on_time," \
         "tasks_exceeded,lower_reason\n"


def _section(title: str) -> str:
    start = README.index(title)
    return README[start:README.index("\n### ", start + 1)]


def _block(text: str, lang: str, after: str = "") -> str:
    """The first ```lang block of `text` after the phrase `after`."""
    return re.search(rf"```{lang}\n(.*?)```", text[text.index(after):], re.S).group(1)


def at_cell_met(db_url: str, *codes: str) -> None:
    for code in codes:
        for stage in ("reports_prepared", "committee_met", "cell_met"):
            moved = run(db_url, "advance", code, "--to", stage, "--at", "2026-11-16T09:00", now=NOW)
            assert moved.exit_code == 0 or (stage == "committee_met" and "không áp dụng" in moved.stderr)


def write(tmp_path: Path, text: str, name: str = "kq.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def stored(db, code=CELL) -> UnitResult | None:
    with db.session() as s:
        return s.scalar(select(UnitResult).join(Cycle, Cycle.id == UnitResult.cycle_id)
                        .join(Unit, Unit.id == Cycle.unit_id).where(Unit.code == code))


def six_at_92(htxs: int, reason: str = "QUOTA") -> str:
    rows = [f"M{i},{'HTXS' if i < htxs else 'HTT'},6,6,30,62,10,10,4,{'' if i < htxs else reason}\n"
            for i in range(6)]
    return HEADER + "".join(rows)


def test_the_readme_examples_pass_results_check_as_printed(db, tmp_path):
    seeded(db.url)
    at_cell_met(db.url, CELL)
    section = _section("### A results file")
    members = write(tmp_path, _block(section, "csv"))
    checked = run(db.url, "results", "check", CELL, members, "--unit-level", "HTT", now=NOW)
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    yaml = write(tmp_path, _block(section, "yaml"), "kq.yaml")
    checked = run(db.url, "results", "check", CELL, yaml, now=NOW)
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    assert run(db.url, "results", "submit", CELL, yaml, now=NOW).exit_code == 0
    assert (stored(db).lower_quota, stored(db).count_kht) == (5, 1)
    for code in CELLS:
        if code != CELL:
            at_cell_met(db.url, code)
            submit_results(db.url, code, now=NOW)
    levels = write(tmp_path, _block(section, "csv", "A parent's file"), "cap_duoi.csv")
    entered = run(db.url, "results", "levels", "GL-TS", levels, now=NOW)
    assert entered.exit_code == 0, entered.stderr
    assert stored(db, "GL-TS-T2").collective_level == "HT"
    assert stored(db, "GL-TS-THCS").collective_record["score_general"] == 28


def test_the_readme_rule_table_is_the_codes(db):
    assert rule_table_markdown() in README
    shown = run(db.url, "results", "check", "--rules", "--json")
    assert shown.exit_code == 0
    rows = json.loads(shown.stdout)
    assert {r["code"] for r in rows} >= {"LOWER_REASON", "COLLECTIVE_QUOTA", "VOTE_BASE", "TWO_HEADS"}
    assert all(r["source"] for r in rows)


def test_six_members_at_92_one_htxs_five_htt_for_the_quota(db, tmp_path):
    seeded(db.url)
    at_cell_met(db.url, CELL)
    bare = run(db.url, "results", "submit", CELL, write(tmp_path, six_at_92(1, "")), now=NOW)
    assert bare.exit_code == 1 and bare.stderr.count("LOWER_REASON") == 5 and stored(db) is None
    all_top = run(db.url, "results", "submit", CELL, write(tmp_path, six_at_92(6)), now=NOW)
    assert all_top.exit_code == 1 and "QUOTA_EXCELLENT" in all_top.stderr
    none_top = run(db.url, "results", "submit", CELL, write(tmp_path, six_at_92(0)), now=NOW)
    assert none_top.exit_code == 1 and none_top.stderr.count("LOWER_QUOTA") == 6
    ok = run(db.url, "results", "submit", CELL, write(tmp_path, six_at_92(1)), now=NOW)
    assert ok.exit_code == 0, ok.stderr
    assert (stored(db).count_htxs, stored(db).count_htt, stored(db).lower_quota, stored(db).valid) == (1, 5, 5, True)
    report = json.loads(run(db.url, "report", "GL-TS", now=NOW).stdout)
    assert report["lowered"] == {"quota": 5, "ground": 0, "other": 0}


def test_five_cells_all_htxs_are_refused_and_so_is_their_base_above_them(db, tmp_path):
    seeded(db.url)
    at_cell_met(db.url, *CELLS)
    for code in CELLS:
        submit_results(db.url, code, now=NOW)
    all_top = write(tmp_path, "code,level\n" + "".join(f"{c},HTXS\n" for c in CELLS), "cap_duoi.csv")
    refused = run(db.url, "results", "levels", "GL-TS", all_top, now=NOW)
    assert refused.exit_code == 1
    assert "COLLECTIVE_QUOTA: Số tập thể HTXS (5) vượt 20% số tập thể HTT (0)" in refused.stderr
    assert stored(db, "GL-TS-T1").collective_level is None
    forced = run(db.url, "results", "levels", "GL-TS", all_top, "--force", "--reason", "thử", now=NOW)
    assert forced.exit_code == 0 and stored(db, "GL-TS-T1").valid is False
    base = run(db.url, "results", "level", "GL-TS", "HTXS", now=NOW)
    assert base.exit_code == 1 and "Đơn vị trực thuộc GL-TS: Số tập thể HTXS (5)" in base.stderr
    stranger = write(tmp_path, "code,level\nGL-PC-CH-T1,HTT\n", "la.csv")
    wrong = run(db.url, "results", "levels", "GL-TS", stranger, now=NOW)
    assert wrong.exit_code == 2 and "không phải đơn vị trực thuộc GL-TS" in wrong.stderr


def test_the_plan_chooses_the_quota_scope_and_the_vote_threshold(db, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.read_text(encoding="utf-8")
                    + "\nquota_scope: cell\nexcellent_vote: more_than_two_thirds\n", encoding="utf-8")
    for args in (("init",), ("units", "import", str(SAMPLE_UNITS)),
                 ("campaign", "create", "2026", "--plan", str(plan))):
        assert run(db.url, *args).exit_code == 0
    at_cell_met(db.url, CELL, "GL-TS-T2")
    submit_results(db.url, "GL-TS-T2", counts="0,6,0,0,0,0", now=NOW)
    # base scope would count GL-TS-T2's six HTT (1 ≤ floor(0.2 × 10)); per cell 4 HTT allow none
    body = HEADER + "A,HTXS,4,6,30,62,10,10,4,\n" + "".join(
        f"M{i},HTT,6,6,25,50,10,10,0,\n" for i in range(4))
    refused = run(db.url, "results", "check", CELL, write(tmp_path, body), now=NOW)
    assert refused.exit_code == 1
    found = {v["code"] for v in json.loads(run(db.url, "results", "check", CELL, write(tmp_path, body), "--json",
                                              now=NOW).stdout)}
    assert found == {"QUOTA_EXCELLENT", "VOTE_THRESHOLD"}  # 4/6 is 2/3, not more than 2/3


def test_bad_rows_of_the_new_columns_are_input_errors(db, tmp_path):
    seeded(db.url)
    at_cell_met(db.url, CELL)
    empty = run(db.url, "results", "submit", CELL, write(tmp_path, HEADER), now=NOW)
    assert empty.exit_code == 2 and "cần ít nhất một đảng viên" in empty.stderr
    body = ("name,level,kht_grounds,lower_reason,lower_reason_text,tasks_total,tasks_on_time,tasks_completed\n"
            "A,KHT,LAZY,,,,,\nB,HT,,OTHER,,,,\nC,HT,,SOMETHING,,,,\nD,HT,,,,10,9,8\n")
    bad = run(db.url, "results", "submit", CELL, write(tmp_path, body), now=NOW)
    assert bad.exit_code == 2 and stored(db) is None
    for expected in ("dòng 2, cột kht_grounds: 'LAZY' không phải căn cứ KHT",
                     "dòng 3, cột lower_reason_text: lý do OTHER cần ghi rõ lý do",
                     "dòng 4, cột lower_reason: 'SOMETHING' không phải lý do",
                     "dòng 5, cột tasks_on_time: 9 nhiệm vụ đúng hạn nhiều hơn số đã hoàn thành (8)"):
        assert expected in bad.stderr


def test_a_cell_with_fewer_than_three_full_members_is_stored_with_a_warning(db, tmp_path):
    seeded(db.url)
    at_cell_met(db.url, CELL)
    body = HEADER + "A,HTT,2,2,25,50,10,10,0,\nB,HTT,2,2,25,50,10,10,0,\n"
    result = run(db.url, "results", "submit", CELL, write(tmp_path, body), now=NOW)
    assert result.exit_code == 0 and "Cảnh báo FEW_FULL_MEMBERS" in result.stderr
    assert stored(db).valid is True
    twice = HEADER.replace("name,", "name,is_head,") + "A,có,HTT,2,2,25,50,10,10,0,\nB,có,HTT,2,2,25,50,10,10,0,\n"
    heads = run(db.url, "results", "submit", CELL, write(tmp_path, twice), now=NOW)
    assert heads.exit_code == 1 and "TWO_HEADS" in heads.stderr

"""Plans that cannot lie, and changing a running campaign's plan, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import SAMPLE_PLAN, run, seeded
from tests.officefiles import cp1258
from workflow.models import AuditEntry, DeadlineExtension, Milestone

PLAN = SAMPLE_PLAN.read_text(encoding="utf-8")


def _plan(tmp_path, text: str, name: str = "plan.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(db, tmp_path, text: str | bytes) -> str:
    path = tmp_path / "plan.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = run(db.url, "campaign", "create", "2026", "--plan", str(path))
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("Lỗi:") and "Traceback" not in result.stderr
    return result.stderr


def test_plans_that_would_lie_are_refused_in_one_sentence(db, tmp_path):
    assert run(db.url, "units", "import", str(SAMPLE_PLAN.parents[1] / "units" / "sample.csv")).exit_code == 0
    assert "office_email" in _refused(db, tmp_path, PLAN.replace("bantochuc@tinhuy.example.vn", "ban to chuc"))
    wrong_year = _refused(db, tmp_path, PLAN.replace("2026-11-10", "2025-11-10"))
    assert "deadlines.cell.reports_prepared (trước ngày 10/11/2025)" in wrong_year
    assert "01/07/2026 đến 30/06/2027" in wrong_year
    empty = PLAN.split("deadlines:")[0] + "deadlines: {}\n"
    assert "kế hoạch không có hạn nào" in _refused(db, tmp_path, empty)
    assert "không phải văn bản UTF-8" in _refused(db, tmp_path, cp1258(PLAN))
    with db.session() as s:
        assert s.scalar(select(Milestone.id)) is None


def test_ensure_says_the_plan_differs_and_update_applies_it_audited(db, tmp_path):
    seeded(db.url)
    moved = _plan(tmp_path, PLAN.replace("forms_submitted: {before: 2026-11-20}",
                                         "forms_submitted: {before: 2026-11-25}"))
    ensure = run(db.url, "campaign", "ensure", "2026", "--plan", str(moved))
    assert ensure.exit_code == 0, ensure.stderr
    assert "khác kế hoạch đang dùng ở 1 hạn" in ensure.stderr and "campaign update 2026" in ensure.stderr
    assert "cell.forms_submitted: 20/11/2026 00:00 → 25/11/2026 00:00" in ensure.stderr
    dry = run(db.url, "campaign", "update", "2026", "--plan", str(moved), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "cell.forms_submitted: 20/11/2026 00:00 → 25/11/2026 00:00" in dry.stdout
    assert "Chạy thử, chưa ghi gì: 1 hạn sẽ đổi" in dry.stdout
    real = run(db.url, "campaign", "update", "2026", "--plan", str(moved))
    assert real.exit_code == 0, real.stderr
    with db.session() as s:
        due = s.scalar(select(Milestone.plan_date).where(Milestone.level == "cell",
                                                         Milestone.stage == "forms_submitted"))
        assert due.isoformat() == "2026-11-25"
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.update"))
        assert entry.details["changes"][0][:2] == ["cell", "forms_submitted"]
    again = run(db.url, "campaign", "ensure", "2026", "--plan", str(moved))
    assert again.exit_code == 0 and "khác kế hoạch" not in again.stderr


def test_update_refuses_a_plan_that_leaves_an_extension_past_its_parent(db, tmp_path):
    seeded(db.url)
    ext = run(db.url, "deadline", "extend", "GL-TS-T1", "forms_submitted", "2026-12-01",
              "--reason", "thôn xa", now="2026-11-01")
    assert ext.exit_code == 0, ext.stderr
    earlier = _plan(tmp_path, PLAN.replace("committee_met: {before: 2026-12-01}", "committee_met: {before: 2026-11-25}")
                    .replace("forms_submitted: {before: 2026-12-05}", "forms_submitted: {before: 2026-11-28}"))
    refused = run(db.url, "campaign", "update", "2026", "--plan", str(earlier))
    assert refused.exit_code == 1
    assert "GL-TS-T1: hạn riêng forms_submitted (01/12/2026 00:00) sẽ sau hạn gửi báo cáo của cấp trên GL-TS" \
        in refused.stderr
    later = _plan(tmp_path, PLAN.replace("forms_submitted: {before: 2026-11-20}",
                                         "forms_submitted: {before: 2026-12-02}"))
    applied = run(db.url, "campaign", "update", "2026", "--plan", str(later))
    assert applied.exit_code == 0, applied.stderr
    assert "GL-TS-T1: bỏ hạn riêng forms_submitted" in applied.stdout
    with db.session() as s:
        assert s.scalar(select(DeadlineExtension.id)) is None

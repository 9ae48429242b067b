"""Vietnamese words and date formats the pages use for the core's codes."""

from __future__ import annotations

import re
from datetime import datetime

from config.zone import DEFAULT_ZONE
from kiemdiem.wording import on_page
from workflow.audit import reason_of
from workflow.models import AuditEntry
from workflow.notices import Due
from workflow.stages import LABEL as STAGE_LABEL

KIND = {"reminder": "Nhắc trước hạn", "late": "Báo trễ hạn", "repeat": "Nhắc lại khi trễ",
        "escalation": "Báo cấp trên", "digest": "Tổng hợp hằng ngày", "manual": "Cán bộ nhắc"}
STATUS = {"pending": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "failed": "Lỗi",
          "dead": "Ngừng sau nhiều lần thử"}
CHANNEL = {"file": "Tệp", "email": "Email", "zalo_zns": "Zalo ZNS", "zalo_oa": "Zalo OA",
           "webhook": "Webhook"}
ACTION = {"campaign.create": "Ban hành kế hoạch", "cycle.advance": "Chuyển giai đoạn",
          "cycle.aggregate": "Cấp trên tổng hợp", "cycle.reopen": "Mở lại để xếp loại lại",
          "deadline.extend": "Gia hạn", "unit.update": "Cập nhật đơn vị",
          "unit.deactivate": "Ngừng hoạt động", "units.import": "Nhập danh sách đơn vị",
          "link.revoke": "Thu hồi, cấp lại đường dẫn riêng", "cycle.undo": "Hủy bước vừa báo qua đường dẫn",
          "notice.manual": "Nhắc ngay"}


def stage_label(stage: str | None) -> str:
    return STAGE_LABEL.get(stage or "", stage or "")


def audit_reason(entry: AuditEntry) -> str:
    """An audit entry's reason: the system's own worded from its code, a person's as typed."""
    reason = reason_of(entry.reason, entry.details)
    return "" if reason is None else on_page(reason)


def local_date(instant: datetime | None) -> str:
    """dd/mm/yyyy in Vietnam time ('' for none)."""
    return "" if instant is None else f"{instant.astimezone(DEFAULT_ZONE):%d/%m/%Y}"


def local_datetime(instant: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in Vietnam time ('' for none)."""
    return "" if instant is None else f"{instant.astimezone(DEFAULT_ZONE):%d/%m/%Y %H:%M}"


#: the workflow's events and guards as an officer reads them on the plan page
TRIGGER = {"prepare_reports": "chuẩn bị báo cáo", "hold_committee_meeting": "họp cấp ủy, chi ủy",
           "hold_cell_meeting": "họp chi bộ", "submit_forms": "gửi báo cáo, biểu mẫu",
           "aggregate": "cấp trên tổng hợp", "reopen": "mở lại để xếp loại lại"}
GUARD = {"in_order": "đúng thứ tự", "children_submitted": "đơn vị trực thuộc đã gửi đủ",
         "results_valid": "kết quả hợp lệ", "parent_received": "cấp trên đã nhận"}


def vietnamese_mermaid(diagram: str) -> str:
    """The state diagram (`workflow.machine.mermaid`) with Vietnamese names on every box and
    arrow; the identifiers Mermaid needs stay, but nothing shown is English."""
    out = []
    for line in diagram.splitlines():
        arrow = re.fullmatch(r"(\s*\S+ --> \S+): (\w+)(?: \[(.*)\])?", line)
        state = re.fullmatch(r"(\s*)(\w+): \w+ — .*", line)
        if arrow:
            guards = [GUARD[g] for g in (arrow.group(3) or "").split(", ") if g in GUARD]
            label = TRIGGER.get(arrow.group(2), arrow.group(2))
            out.append(f"{arrow.group(1)}: {label}" + (f" [{', '.join(guards)}]" if guards else ""))
        elif state:
            out.append(f'{state.group(1)}state "{stage_label(state.group(2))}" as {state.group(2)}')
        else:
            out.append(line)
    return "\n".join(out)


def deadline(due: Due | None) -> str:
    """A deadline in the plan's words, "trước ngày 20/11/2026" ('' for none)."""
    return "" if due is None else str(due)

"""Vietnamese words and date formats the pages use for the core's codes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from workflow.notices import Due
from workflow.stages import LABEL as STAGE_LABEL

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

KIND = {"reminder": "Nhắc trước hạn", "late": "Báo trễ hạn", "repeat": "Nhắc lại khi trễ",
        "escalation": "Báo cấp trên", "digest": "Tổng hợp hằng ngày"}
STATUS = {"pending": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "failed": "Lỗi",
          "dead": "Ngừng sau nhiều lần thử"}
CHANNEL = {"file": "Tệp", "email": "Email", "zalo_zns": "Zalo ZNS", "zalo_oa": "Zalo OA",
           "webhook": "Webhook"}
ACTION = {"campaign.create": "Ban hành kế hoạch", "cycle.advance": "Chuyển giai đoạn",
          "cycle.aggregate": "Cấp trên tổng hợp", "cycle.reopen": "Mở lại để xếp loại lại",
          "deadline.extend": "Gia hạn", "unit.update": "Cập nhật đơn vị",
          "unit.deactivate": "Ngừng hoạt động", "units.import": "Nhập danh sách đơn vị"}


def stage_label(stage: str | None) -> str:
    return STAGE_LABEL.get(stage or "", stage or "")


def local_date(instant: datetime | None) -> str:
    """dd/mm/yyyy in Vietnam time ('' for none)."""
    return "" if instant is None else f"{instant.astimezone(LOCAL):%d/%m/%Y}"


def local_datetime(instant: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in Vietnam time ('' for none)."""
    return "" if instant is None else f"{instant.astimezone(LOCAL):%d/%m/%Y %H:%M}"


def deadline(due: Due | None) -> str:
    """A deadline in the plan's words, "trước ngày 20/11/2026" ('' for none)."""
    return "" if due is None else str(due)

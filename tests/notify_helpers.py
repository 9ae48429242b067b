"""Helpers for the notifier tests: outbox payloads and rows as the sweeps write them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from config.zone import DEFAULT_ZONE as HCM
from workflow.db import Database
from workflow.models import Notification
from workflow.stages import LABEL

T0 = datetime(2026, 11, 13, 1, 0, tzinfo=UTC)  # 08:00 on 13/11/2026 in Hà Nội


def payload(kind: str = "reminder", **overrides: Any) -> dict[str, Any]:
    """A bundle's payload per the outbox contract (README): a cell's forms due before 20/11/2026,
    its only item, 7 days ahead (reminder) or 3 days late."""
    item: dict[str, Any] = {
        "stage": "forms_submitted", "stage_label": LABEL["forms_submitted"],
        "deadline": "2026-11-20T00:00:00+07:00", "deadline_rule": "before",
        "plan_date": "2026-11-20", "deadline_text": "trước ngày 20/11/2026",
        "days_late": None if kind == "reminder" else 3, "days_left": 7 if kind == "reminder" else None,
        "kind": kind, "repeat": 1 if kind == "repeat" else 0,
    }
    data: dict[str, Any] = {
        **item, "year": 2026, "campaign_id": 1, "unit_id": 3, "unit_code": "GL-CQD-BTC",
        "unit_name": "Chi bộ Ban Tổ chức Tỉnh ủy", "level": "cell", "secretary": "Lê Văn Sơn",
        "day": "2026-11-13", "link": "http://127.0.0.1:8080/units/GL-CQD-BTC", "items": [item],
        "late_units": [],
    }
    data.update(overrides)
    return data


def dedup_key(i: int, channel: str, recipient: str, at: datetime, kind: str = "reminder") -> str:
    """A bundle's key (README, "The outbox rows"): unit, kind of bundle, local day, channel, recipient."""
    bundle = "escalation" if kind == "escalation" else "notice"
    return f"2026:U{i:05d}:{bundle}:{at.astimezone(HCM):%Y%m%d}:{channel}:{recipient}"


def add_rows(db: Database, count: int, channel: str = "email", at: datetime = T0,
             recipient: str | None = None, kind: str = "reminder") -> None:
    """Insert `count` pending rows due at `at`, as a sweep would (one statement)."""
    rows = [dict(dedup_key=dedup_key(i, channel, recipient or f"u{i}@example.vn", at, kind), kind=kind,
                 channel=channel, recipient=recipient or f"u{i}@example.vn", stage="forms_submitted",
                 payload=payload(kind, unit_code=f"U{i:05d}", unit_name=f"Chi bộ số {i}"),
                 status="pending", attempts=0, next_attempt_at=at, created_at=at, updated_at=at)
            for i in range(count)]
    with db.session(write=True) as s:
        for start in range(0, len(rows), 1000):
            s.execute(insert(Notification), rows[start:start + 1000])

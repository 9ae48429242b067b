"""A small campaign seen on 21/11/2026 at 09:00 (Vietnam), for the web monitor's tests.

The sample tree (province GL; district GL-PC with GL-PC-CH and its cells; base GL-TS with
five cells) with the 2026 plan, some stages reached on time, some late, one extension, an
outbox row, and three accounts: `tinh` (GL), `phucat` (GL-PC) and `traso` (GL-TS).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from config.hierarchy import load_hierarchy
from config.settings import Settings
from kiemdiem.app import App
from kiemdiem.web.accounts import add_user
from tests.helpers import SAMPLE_PLAN, SAMPLE_UNITS
from workflow.campaigns import create_campaign
from workflow.clock import fixed_clock
from workflow.db import Database
from workflow.extensions import DeadlineService
from workflow.models import Notification, Unit
from workflow.service import CycleService
from workflow.units import import_units

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
PASSWORD = "mat-khau-thu-nghiem"
SECRET_KEY = "khoa-ky-phien-cho-thu-nghiem-0123456789"
USERS = {"tinh": "GL", "phucat": "GL-PC", "traso": "GL-TS"}


def local(day: int, month: int = 11, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour - 7, 0, tzinfo=UTC)


def web_app(db: Database, now: datetime = NOW) -> App:
    """An `App` on `db` whose clock says `now`."""
    return App(settings=Settings.from_env({}, database_url=db.url, secret_key=SECRET_KEY,
                                          allowed_hosts="testserver"), clock=fixed_clock(now))


def build(db: Database) -> App:
    """Fill `db` with the campaign described above; return an `App` at `NOW`."""
    hierarchy = load_hierarchy("2025")
    import_units(db, SAMPLE_UNITS, hierarchy, fixed_clock(local(1, 10)), "test")
    create_campaign(db, 2026, SAMPLE_PLAN, hierarchy, fixed_clock(local(20, 10)), "test")
    steps = [  # (unit, stage, when reached)
        ("GL-TS-THCS", "reports_prepared", local(5)),
        ("GL-TS-THCS", "committee_met", local(12)),
        ("GL-TS-TH", "reports_prepared", local(9)),
        ("GL-TS-TH", "cell_met", local(14)),
        ("GL-TS-TH", "forms_submitted", local(18)),
        ("GL-PC-CH-T1", "reports_prepared", local(12)),   # two days late
    ]
    for code, stage, when in steps:
        CycleService(db, fixed_clock(when)).advance(code, to=stage, actor="văn phòng")
    # reported on paper two days after the fact: the stage counts from `at`, not the entry
    CycleService(db, fixed_clock(local(10))).advance("GL-PC-THPT2", to="reports_prepared",
                                                     at=local(8), actor="văn phòng")
    DeadlineService(db, fixed_clock(local(8))).extend(
        "GL-TS-YT", "reports_prepared", date(2026, 11, 13), reason="Trạm y tế chống dịch",
        actor="văn phòng")
    with db.session(write=True) as session:
        unit = session.query(Unit).filter_by(code="GL-PC-CH-T2").one()
        session.add(Notification(
            dedup_key="2026:GL-PC-CH-T2:reports_prepared:late:0:email:chibo.hoihiep@phucat.example.vn",
            kind="late", channel="email", recipient="chibo.hoihiep@phucat.example.vn",
            unit_id=unit.id, stage="reports_prepared", payload={"unit_code": unit.code},
            status="sent", attempts=1, next_attempt_at=local(10), created_at=local(10),
            updated_at=local(10), sent_at=local(10)))
    for name, unit_code in USERS.items():
        add_user(db, name, unit_code, PASSWORD, fixed_clock(local(1, 10)))
    return web_app(db)

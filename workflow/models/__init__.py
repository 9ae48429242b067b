"""Every table of kiemdiem, as SQLAlchemy 2.x typed models, beside the one migrations folder.

One module per area, each naming the migrations that create its tables (all of them in
`workflow/migrations/versions`): `core` (units, campaigns, cycles, the audit log, the outbox,
the notice ledger and the bundles of the day), `results`, `links` (the units' personal links), `delivery` (Zalo's token
pair, channel health), `web` (the monitor's accounts, sessions, login counters). The
behaviour around a table (hashing a token, checking a password) stays in its area's module.

Importing this package maps every table, so `Base.metadata` is the whole schema wherever it
is read (Alembic, the schema test, a fault test's snapshot).
"""

from __future__ import annotations

from workflow.models.core import (
    AuditEntry,
    Base,
    BundleDay,
    Campaign,
    Cycle,
    DeadlineExtension,
    Milestone,
    Notice,
    Notification,
    Unit,
    UTCDateTime,
)
from workflow.models.delivery import ChannelHealth, ZaloToken
from workflow.models.links import RevokedLink, UnitLink
from workflow.models.results import MemberResult, UnitResult
from workflow.models.web import LoginCounter, User, WebSession

__all__ = [
    "AuditEntry",
    "Base",
    "BundleDay",
    "Campaign",
    "ChannelHealth",
    "Cycle",
    "DeadlineExtension",
    "LoginCounter",
    "MemberResult",
    "Milestone",
    "Notice",
    "Notification",
    "RevokedLink",
    "UTCDateTime",
    "Unit",
    "UnitLink",
    "UnitResult",
    "User",
    "WebSession",
    "ZaloToken",
]

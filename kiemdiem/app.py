"""The composition root: builds the application's parts from settings, lazily.

Every entry point (CLI, `serve`, the web monitor, tests) gets its collaborators from an
`App`; nothing connects to a database at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from config.settings import Settings
from config.zone import DEFAULT_ZONE
from workflow.clock import Clock, system_clock
from workflow.db import Database
from workflow.errors import Problem
from workflow.service import CycleService

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from config.hierarchy import Hierarchy
    from workflow.links import LinkKeys
    from workflow.models import Cycle, Unit


@dataclass
class App:
    """What a command needs: settings, the database, the hierarchy and the clock."""

    settings: Settings
    clock: Clock = field(default=system_clock)
    actor: str = "cli"

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url)

    @cached_property
    def hierarchy(self) -> Hierarchy:
        # the hierarchy's models (pydantic, YAML) load only for commands that read levels
        from config.hierarchy import load_hierarchy

        return load_hierarchy(self.settings.hierarchy)

    @property
    def zone(self) -> ZoneInfo:
        return DEFAULT_ZONE

    @cached_property
    def links(self) -> LinkKeys:
        """The units' personal links, signed with `KIEMDIEM_SECRET_KEY` (config.secretkey)."""
        from config.secretkey import secret_key
        from workflow.links import LinkKeys

        return LinkKeys(secret_key(self.settings), self.settings.public_url, self.clock)

    def cycle_service(self) -> CycleService:
        # the results gate: a unit reaches forms_submitted only with valid results (issue 5)
        return CycleService(self.db, self.clock, [_results_gate])

    def ready_db(self) -> Database:
        """Return the database for a command that needs the schema.

        The schema is not checked here (Alembic costs a tenth of a second to import, on every
        command); a missing table or column surfaces as a database error, which the CLI turns
        into "run `kiemdiem init`".
        """
        return self.db

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


def _results_gate(session: Session, cycle: Cycle, unit: Unit) -> list[Problem]:
    """The results gate, imported when a submission first asks it: every other move of a
    cycle would pay for the results models at start-up (`advance` has 0.5 s in all)."""
    from workflow.results.gate import submit_gate

    return submit_gate(session, cycle, unit)

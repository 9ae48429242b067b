"""The composition root: builds every part of the application from settings, lazily.

Every entry point (CLI, `serve`, the web monitor, tests) gets its collaborators from an
`App`, and nothing else constructs them: the database, the services, the channels, the
renderer, the dispatcher and the scheduler with its timetable. A new channel or service is
added here. Each part's modules are imported when it is first asked for, so a command pays
at start-up only for what it uses; nothing connects to a database at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from config.errors import ConfigError
from config.settings import Settings
from config.zone import DEFAULT_ZONE
from workflow.clock import Clock, system_clock
from workflow.db import Database
from workflow.service import CycleService

if TYPE_CHECKING:

    from config.hierarchy import Hierarchy
    from notifiers.base import Channel
    from notifiers.dispatcher import Dispatcher, DispatchPolicy
    from notifiers.render import Renderer
    from schedules.jobs import SweepScheduler
    from schedules.timetable import Timetable
    from workflow.extensions import DeadlineService
    from workflow.links import LinkKeys
    from workflow.results.store import ResultsService


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
        from workflow.results.gate import submit_gate

        # the results gate: a unit reaches forms_submitted only with valid results (issue 5)
        return CycleService(self.db, self.clock, [submit_gate])

    def deadline_service(self) -> DeadlineService:
        from workflow.extensions import DeadlineService

        return DeadlineService(self.db, self.clock)

    def results_service(self) -> ResultsService:
        from workflow.results.store import ResultsService

        return ResultsService(self.db, self.clock)

    # -- delivery -------------------------------------------------------------------------

    def channels(self) -> dict[str, Channel]:
        """One channel per name in `KIEMDIEM_CHANNELS`, refusing incomplete settings.

        Create them inside the event loop that will use them (their HTTP and SMTP clients
        belong to it).
        """
        from notifiers.email import EmailChannel
        from notifiers.files import FileChannel
        from notifiers.tokens import TokenStore
        from notifiers.webhook import WebhookChannel
        from notifiers.zalo import ZaloClient, ZaloOaChannel, ZaloZnsChannel

        settings, clock = self.settings, self.clock
        channels: dict[str, Channel] = {}
        zalo: ZaloClient | None = None
        for name in settings.channels:
            if name == "file":
                channels[name] = FileChannel(settings.outbox_dir, settings.mail_from, clock)
            elif name == "email":
                channels[name] = EmailChannel(
                    host=settings.smtp_host, port=settings.smtp_port, mail_from=settings.mail_from,
                    tls=settings.smtp_tls, username=settings.smtp_user,
                    password=_secret(settings.smtp_password), timeout=settings.smtp_timeout,
                    connections=settings.smtp_connections, clock=clock)
            elif name == "webhook":
                _require(settings, name, "webhook_url", "webhook_secret")
                channels[name] = WebhookChannel(settings.webhook_url or "",
                                                _secret(settings.webhook_secret) or "",
                                                settings.http_timeout, clock)
            else:
                _require(settings, name, "zalo_app_id", "zalo_secret_key", "zalo_refresh_token",
                         *(("zalo_template_id",) if name == "zalo_zns" else ()))
                if zalo is None:
                    zalo = ZaloClient(TokenStore(
                        self.db, app_id=settings.zalo_app_id or "",
                        secret_key=_secret(settings.zalo_secret_key) or "",
                        refresh_token=_secret(settings.zalo_refresh_token) or "",
                        oauth_url=settings.zalo_oauth_url, clock=clock,
                        timeout=settings.http_timeout), settings.http_timeout, clock)
                channels[name] = (ZaloZnsChannel(zalo, settings.zalo_base_url,
                                                 settings.zalo_template_id or "")
                                  if name == "zalo_zns" else ZaloOaChannel(zalo, settings.zalo_oa_url))
        return channels

    def renderer(self) -> Renderer:
        """What a message says: the templates, the levels' and stages' labels, the unit's link."""
        from kiemdiem.messagelinks import MessageLinks
        from notifiers.render import Renderer
        from workflow.stages import LABEL

        return Renderer(self.settings.templates_dir,
                        {level.name: level.label for level in self.hierarchy.levels}, LABEL,
                        link_for=MessageLinks(self.db, self.links))

    def dispatch_policy(self) -> DispatchPolicy:
        from notifiers.dispatcher import DispatchPolicy

        s = self.settings
        return DispatchPolicy(
            batch=s.dispatch_batch, concurrency=s.dispatch_concurrency,
            lease=timedelta(seconds=s.dispatch_lease_seconds),
            backoff=timedelta(seconds=s.dispatch_backoff_seconds),
            backoff_max=timedelta(seconds=s.dispatch_backoff_max_seconds),
            give_up=timedelta(hours=s.dispatch_give_up_hours),
            probe=timedelta(seconds=s.dispatch_probe_seconds),
            probe_max=timedelta(seconds=s.dispatch_probe_max_seconds))

    def dispatcher(self) -> Dispatcher:
        """The dispatcher (build it inside the event loop that will run it); its events
        (`channel_down`, `channel_up`, `gave_up`, …) go to the JSON log."""
        from kiemdiem.jsonlog import log_event
        from notifiers.dispatcher import Dispatcher

        return Dispatcher(self.db, self.channels(), self.renderer(), self.dispatch_policy(), self.clock,
                          events=log_event)

    # -- scheduling -----------------------------------------------------------------------

    def timetable(self) -> Timetable:
        """The instants after now at which some deadline owes something new."""
        from schedules.timetable import load_timetable

        with self.db.session() as session:
            return load_timetable(session, self.clock())

    def scheduler(self, sweep: Callable[[str], object], catch_up_seconds: float) -> SweepScheduler:
        """The scheduler that runs `sweep(reason)` at the timetable's instants and every
        `catch_up_seconds` (not started)."""
        from schedules.jobs import SweepScheduler

        return SweepScheduler(sweep, self.timetable, catch_up_seconds)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def _require(settings: Settings, channel: str, *names: str) -> None:
    missing = [f"KIEMDIEM_{n.upper()}" for n in names if getattr(settings, n) in (None, "")]
    if missing:
        raise ConfigError("channel.needs_settings", channel=channel, settings=", ".join(missing))

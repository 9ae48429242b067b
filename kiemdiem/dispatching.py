"""Wire the dispatcher from settings: the enabled channels, templates, policy, clock.

`build_dispatcher(app)` is what `kiemdiem dispatch` uses; `serve` runs
`run_dispatcher(app, stop)` in a thread of its own (it owns an event loop) and sets the
`threading.Event` to stop it. Channels are created inside the running loop and closed on
the way out.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

from config.errors import ConfigError
from config.settings import Settings
from kiemdiem.app import App
from kiemdiem.messagelinks import MessageLinks
from notifiers.base import Channel
from notifiers.dispatcher import Dispatcher, DispatchPolicy, StepReport
from notifiers.email import EmailChannel
from notifiers.files import FileChannel
from notifiers.render import Renderer
from notifiers.tokens import TokenStore
from notifiers.webhook import WebhookChannel
from notifiers.zalo import ZaloClient, ZaloOaChannel, ZaloZnsChannel
from workflow.clock import Clock
from workflow.db import Database
from workflow.stages import LABEL

#: how often the dispatcher thread looks at `serve`'s stop flag
STOP_POLL_SECONDS = 0.5


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def _require(settings: Settings, channel: str, *names: str) -> None:
    missing = [f"KIEMDIEM_{n.upper()}" for n in names if getattr(settings, n) in (None, "")]
    if missing:
        raise ConfigError(f"the {channel} channel needs {', '.join(missing)}")


def build_channels(settings: Settings, db: Database, clock: Clock) -> dict[str, Channel]:
    """Create one channel per name in `KIEMDIEM_CHANNELS`, refusing incomplete settings."""
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
                    db, app_id=settings.zalo_app_id or "",
                    secret_key=_secret(settings.zalo_secret_key) or "",
                    refresh_token=_secret(settings.zalo_refresh_token) or "",
                    oauth_url=settings.zalo_oauth_url, clock=clock,
                    timeout=settings.http_timeout), settings.http_timeout, clock)
            channels[name] = (ZaloZnsChannel(zalo, settings.zalo_base_url,
                                             settings.zalo_template_id or "")
                              if name == "zalo_zns" else ZaloOaChannel(zalo, settings.zalo_oa_url))
    return channels


def policy_from(settings: Settings) -> DispatchPolicy:
    return DispatchPolicy(
        batch=settings.dispatch_batch, concurrency=settings.dispatch_concurrency,
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
        backoff=timedelta(seconds=settings.dispatch_backoff_seconds),
        backoff_max=timedelta(seconds=settings.dispatch_backoff_max_seconds),
        give_up=timedelta(hours=settings.dispatch_give_up_hours),
        probe=timedelta(seconds=settings.dispatch_probe_seconds),
        probe_max=timedelta(seconds=settings.dispatch_probe_max_seconds))


def build_dispatcher(app: App) -> Dispatcher:
    """Build the dispatcher for `app` (call inside the event loop that will run it); its events
    (`channel_down`, `channel_up`, `gave_up`, …) are JSON lines on stdout, as `serve` logs."""
    from kiemdiem.jsonlog import log_event

    settings = app.settings
    renderer = Renderer(settings.templates_dir,
                        {level.name: level.label for level in app.hierarchy.levels}, LABEL,
                        link_for=MessageLinks(app.db, app.links))
    return Dispatcher(app.db, build_channels(settings, app.db, app.clock), renderer,
                      policy_from(settings), app.clock, events=log_event)


async def dispatch(app: App, stop: asyncio.Event | None = None,
                   report: StepReport | None = None) -> Counter[tuple[str, str]]:
    """Deliver until nothing is due (`stop` None) or until `stop` is set (telling `report`
    how each step went); return what was done (`Dispatcher.tally`)."""
    dispatcher = build_dispatcher(app)
    try:
        if stop is None:
            await dispatcher.run_until_idle()
        else:
            await dispatcher.run(stop, app.settings.dispatch_idle_seconds, report)
    finally:
        await dispatcher.aclose()
    return dispatcher.tally


#: the columns of `dispatch --once`'s summary: what became of the rows, what still waits
SUMMARY_COLUMNS = ("channel", "sent", "retry", "failed", "dead", "waiting")


def summary_rows(tally: Counter[tuple[str, str]], waiting: dict[str, int]) -> list[dict[str, Any]]:
    """One row per channel that did something or still has rows waiting, by name."""
    channels = sorted({channel for channel, _outcome in tally} | set(waiting))
    return [{"channel": channel, **{outcome: tally[(channel, outcome)] for outcome in SUMMARY_COLUMNS[1:-1]},
             "waiting": waiting.get(channel, 0)} for channel in channels]


def run_dispatcher(app: App, stop: threading.Event, report: StepReport | None = None) -> None:
    """Deliver continuously until `stop` is set; blocking, for `serve`'s dispatcher thread."""

    async def main() -> None:
        done = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(STOP_POLL_SECONDS)
            done.set()

        watcher = asyncio.create_task(watch())
        try:
            await dispatch(app, done, report)
        finally:
            watcher.cancel()

    asyncio.run(main())

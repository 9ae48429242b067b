"""Run the dispatcher `App.dispatcher()` builds: until idle, or until told to stop.

`kiemdiem dispatch` uses `dispatch(app)`; `serve` runs `run_dispatcher(app, stop)` in a
thread of its own (it owns an event loop) and sets the `threading.Event` to stop it.
Channels are created inside the running loop and closed on the way out.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from kiemdiem.app import App
from notifiers.dispatcher import StepReport

#: how often the dispatcher thread looks at `serve`'s stop flag
STOP_POLL_SECONDS = 0.5


async def dispatch(app: App, stop: asyncio.Event | None = None,
                   report: StepReport | None = None) -> Counter[tuple[str, str]]:
    """Deliver until nothing is due (`stop` None) or until `stop` is set (telling `report`
    how each step went); return what was done (`Dispatcher.tally`)."""
    dispatcher = app.dispatcher()
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

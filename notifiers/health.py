"""Channel health: a peer that is down stops its channel on this instance, not each row.

When a send fails because the peer cannot be reached (`DeliveryError.unreachable`: a refused
or reset connection, a DNS failure, a connect timeout, SMTP 421, an HTTP 5xx, Zalo's system
error), retrying every waiting row against it would only spend their attempts: the channel
is marked *down* for this instance instead. Its rows are no longer claimed; after a pause
one row is claimed as a probe, and the pause doubles after each failed probe up to a cap.
The first probe that succeeds brings the channel back up; a send begun before the channel
went down that succeeds after proves nothing (a peer going out of service may finish what
it had begun while refusing anything new).
A failure contradicted by a send that succeeded after it started (one 503 among 200s: the
peer is up, only busy) does not stop the channel: that row is retried after its back-off.

Each instance decides for itself (its network may be the broken part) and says so in the
`channel_health` table, one row per instance and channel while the channel is down, so
`kiemdiem outbox --json` and the monitor's `/healthz` can show it. A row not refreshed for
`STALE_AFTER` belongs to an instance that died: readers ignore it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from notifiers.outbox import insert_ignoring_conflicts
from workflow.db import Database
from workflow.models import ChannelHealth

#: told each `channel_down` / `channel_up` (and the dispatcher's other events) as JSON fields
EventLog = Callable[..., None]
#: a down row older than this, not refreshed by its instance's probes, is an instance that died
STALE_AFTER = timedelta(minutes=30)


def instance_name() -> str:
    """Who this dispatcher is in `channel_health`: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Down:
    since: datetime  # the application's clock, for people
    started: float  # monotonic, for the outage's length
    error: str
    pause: float
    probe_at: float  # monotonic
    probing: bool = False


class Health:
    """The up/down state of this instance's channels, and when to probe the down ones."""

    def __init__(self, db: Database, channels: Iterable[str], probe: timedelta, probe_max: timedelta,
                 clock: Callable[[], datetime], events: EventLog,
                 monotonic: Callable[[], float] = time.monotonic, instance: str | None = None) -> None:
        self.db, self.channels, self.clock, self.events = db, list(channels), clock, events
        self.probe, self.probe_max = probe.total_seconds(), probe_max.total_seconds()
        self.monotonic, self.instance = monotonic, instance or instance_name()
        self.down: dict[str, _Down] = {}
        self.last_success: dict[str, float] = {}
        # the table is written in order, off the event loop: a flapping peer must not stall sends
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kiemdiem-health")

    def up_channels(self) -> list[str]:
        """The channels whose rows may be claimed freely."""
        return [c for c in self.channels if c not in self.down]

    def probes_due(self) -> list[str]:
        """Down channels whose pause is over and that have no probe out: claim one row each."""
        now = self.monotonic()
        return [c for c, d in self.down.items() if not d.probing and d.probe_at <= now]

    def probe_started(self, channel: str, claimed: bool) -> None:
        """A probe row was claimed (it is out until its outcome), or none was due: wait again."""
        state = self.down.get(channel)
        if state is None:
            return  # a send in flight went through meanwhile: the channel is up
        if claimed:
            state.probing = True
        else:  # nothing to probe with: wait again, and say the channel is still down
            state.probe_at = self.monotonic() + state.pause
            self._store(channel, state)

    def failed(self, channel: str, error: str, started: float) -> bool:
        """A send begun at `started` (monotonic) found the peer unreachable: mark the channel
        down, or lengthen the pause of a failed probe; return whether the channel is down
        (False: a send that began later went through, the peer is up)."""
        state = self.down.get(channel)
        now = self.monotonic()
        if state is None and self.last_success.get(channel, float("-inf")) > started:
            return False
        if state is None:
            state = self.down[channel] = _Down(self.clock(), now, error, self.probe, now + self.probe)
            self.events("channel_down", channel=channel, error=error, probe_in_s=round(state.pause, 1))
        elif state.probing:
            state.pause = min(state.pause * 2, self.probe_max)
            state.probing, state.error, state.probe_at = False, error, now + state.pause
        else:
            return True  # another send of the same outage, already counted
        self._store(channel, state)
        return True

    def succeeded(self, channel: str, started: float) -> None:
        """A send begun at `started` (monotonic) went through: a down channel is up again,
        unless that send began before the channel went down (counting it would flap the
        channel up and down during an outage, and `channel_up` would not tell its length)."""
        self.last_success[channel] = self.monotonic()
        state = self.down.get(channel)
        if state is None or started < state.started:
            return
        del self.down[channel]
        self.events("channel_up", channel=channel, down_s=round(self.monotonic() - state.started, 1),
                    since=state.since.isoformat())
        self._write(self._forget, channel)

    def probe_ended(self, channel: str) -> None:
        """A probe's row failed for a reason of its own (not the peer): probe again after the pause."""
        state = self.down.get(channel)
        if state is not None and state.probing:
            state.probing, state.probe_at = False, self.monotonic() + state.pause

    def _write(self, write: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            try:
                write(*args)
            except Exception as exc:  # noqa: BLE001 - only the display of the state is stale
                self.events("channel_state_not_saved", error=f"{type(exc).__name__}: {exc}"[:300])

        self._writer.submit(run)

    def _forget(self, channel: str) -> None:
        with self.db.session(write=True) as session:
            session.execute(delete(ChannelHealth).where(ChannelHealth.instance == self.instance,
                                                        ChannelHealth.channel == channel))

    def flush(self) -> None:
        """Wait until the state is written (tests, and the end of `dispatch`)."""
        self._writer.submit(lambda: None).result()

    def _store(self, channel: str, state: _Down) -> None:
        now = self.clock()
        values = dict(down_since=state.since, error=state.error[:2000],
                      next_probe_at=now + timedelta(seconds=state.pause), updated_at=now)
        self._write(self._save, channel, values)

    def _save(self, channel: str, values: dict[str, Any]) -> None:
        with self.db.session(write=True) as session:
            if not insert_ignoring_conflicts(session, ChannelHealth,
                                             [dict(instance=self.instance, channel=channel, **values)]):
                row = session.get(ChannelHealth, (self.instance, channel))
                for key, value in values.items():
                    setattr(row, key, value)


def channel_states(db: Database, now: datetime) -> dict[str, dict[str, Any]]:
    """Each channel some live instance finds down: since when, on how many, the latest error."""
    states: dict[str, dict[str, Any]] = {}
    with db.session() as session:
        rows = session.scalars(select(ChannelHealth).where(ChannelHealth.updated_at >= now - STALE_AFTER)
                               .order_by(ChannelHealth.updated_at))
        for row in rows:
            state = states.setdefault(row.channel, {"state": "down", "since": row.down_since, "instances": 0})
            state["since"] = min(state["since"], row.down_since)
            state["instances"] += 1
            state["error"], state["next_probe_at"] = row.error, row.next_probe_at
    return states

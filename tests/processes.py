"""Real `kiemdiem` processes for the end-to-end and fault tests: start them, read their logs.

`serve` logs one JSON object per line on stdout; `Serve` reads both pipes in threads (so a
chatty process never blocks on a full pipe, and a silent one never blocks the test) and
lets a test wait for the next event of a kind, with a deadline. Used as a context manager,
it is killed on the way out, whatever the test did.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from tests.notify_fixtures import free_port

ROOT = Path(__file__).parents[1]
MAIL_FROM = "kiemdiem@tinhuy.example.vn"


def smtp_env(port: int) -> dict[str, str]:
    """The settings that send email to the loopback SMTP server on `port`, in small batches."""
    return {"KIEMDIEM_CHANNELS": "email", "KIEMDIEM_SMTP_HOST": "127.0.0.1",
            "KIEMDIEM_SMTP_PORT": str(port), "KIEMDIEM_MAIL_FROM": MAIL_FROM,
            "KIEMDIEM_DISPATCH_BATCH": "50", "KIEMDIEM_DISPATCH_LEASE_SECONDS": "60",
            "KIEMDIEM_DISPATCH_IDLE_SECONDS": "0.2"}


def kiemdiem(url: str, *args: str, now: datetime | None = None,
             env: Mapping[str, str] | None = None, text: bool = False) -> subprocess.Popen:
    """Start `python -m kiemdiem --db URL [--now ISO] ARGS…` from the checkout, pipes open."""
    prefix = ["--now", now.isoformat()] if now else []
    return subprocess.Popen([sys.executable, "-m", "kiemdiem", "--db", url, *prefix, *args],
                            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text)


def wait_until(condition: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def frozen_when(proc: subprocess.Popen, condition: Callable[[], object], timeout: float = 60.0,
                what: str = "condition") -> None:
    """Stop `proc` (SIGSTOP) at a moment when `condition` holds, and check it again once stopped.

    A test that kills a process in a given state (mid-delivery: rows claimed, not yet
    recorded) must kill it in that state; between the poll that sees it and the kill, the
    process may finish the step. So it is frozen first and looked at again, and let go to try
    again if it moved on. The caller kills it (SIGKILL ends a stopped process)."""
    deadline = time.monotonic() + timeout
    while True:
        wait_until(condition, max(deadline - time.monotonic(), 0.1), what)
        proc.send_signal(signal.SIGSTOP)
        if condition():
            return
        proc.send_signal(signal.SIGCONT)


class Serve:
    """A running `kiemdiem serve` whose JSON log lines are collected as they come."""

    def __init__(self, url: str, outbox: Path | None = None, *, now: datetime | None = None,
                 env: Mapping[str, str] | None = None, catch_up_seconds: float = 2,
                 args: Sequence[str] = ()) -> None:
        web = list(args) if "--no-web" in args else ["--port", str(free_port()), *args]
        extra = {"KIEMDIEM_OUTBOX_DIR": str(outbox)} if outbox is not None else {}
        self.proc = kiemdiem(url, "serve", "--lock-retry-seconds", "0.5",
                             "--catch-up-seconds", str(catch_up_seconds), *web,
                             now=now, env={**extra, **(env or {})}, text=True)
        self.events: list[dict[str, Any]] = []
        self.not_json: list[str] = []  # stdout lines that are not one JSON object (must stay empty)
        self.stderr_lines: list[str] = []
        self._seen = 0  # events before this index were returned by `wait_for` already
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(pipe, sink), daemon=True)
                         for pipe, sink in ((self.proc.stdout, self._event), (self.proc.stderr,
                                                                                 self.stderr_lines.append))]
        for reader in self._readers:
            reader.start()

    def _event(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and "event" in event:
            self.events.append(event)
        else:
            self.not_json.append(line)

    def _read(self, pipe: IO[str], sink: Callable[[str], None]) -> None:
        for line in pipe:
            with self._changed:
                sink(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        """Return the next `event` logged after the last one returned; fail on exit or timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(self._seen, len(self.events)):
                    if self.events[index]["event"] == event:
                        self._seen = index + 1
                        return self.events[index]
                if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                    raise AssertionError(f"serve exited {self.proc.returncode} before '{event}': {self.stderr}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no '{event}' within {timeout} s; log: {self.events[-5:]}")
                self._changed.wait(min(left, 0.2))

    def logged(self, event: str) -> list[dict[str, Any]]:
        """Every `event` logged so far."""
        with self._changed:
            return [e for e in self.events if e["event"] == event]

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the process to exit and its output to be read; return its exit code."""
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return code

    def kill(self) -> None:
        """kill -9 (no clean-up: open transactions die with the connection)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def __enter__(self) -> Serve:
        return self

    def __exit__(self, *_: object) -> None:
        self.kill()

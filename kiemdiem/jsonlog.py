"""One JSON object per line on stdout: `serve`'s own events and every library's log records.

`write_record` is the one place a line is written (locked: `print` writes the text and the
newline separately, so lines from the scheduler, the dispatcher, the web server and the
signal watcher could run into one another). `configure` routes the `logging` records of
APScheduler, uvicorn and kiemdiem through `JsonFormatter`, a traceback as one field.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any

_LOCK = threading.Lock()


def timestamp(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).isoformat(timespec="milliseconds")


def write_record(record: dict[str, Any]) -> None:
    """Write one JSON object as one line on stdout."""
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    with _LOCK:
        sys.stdout.write(line)
        sys.stdout.flush()


class JsonFormatter(logging.Formatter):
    """A log record as `{"ts", "event": "log", "level", "logger", "message"[, "traceback"]}`."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": timestamp(datetime.fromtimestamp(record.created, UTC)), "event": "log",
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage().strip(),
        }
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class JsonLineHandler(logging.Handler):
    """Writes formatted records to stdout under the same lock as `write_record`."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
            return
        with _LOCK:
            sys.stdout.write(line)
            sys.stdout.flush()


def configure(level: int = logging.INFO) -> None:
    """Send every log record of the process through `JsonFormatter` to stdout (once)."""
    root = logging.getLogger()
    if any(isinstance(h, JsonLineHandler) for h in root.handlers):
        return
    handler = JsonLineHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)

"""One log format: every line a process logs is one JSON object on stdout.

`configure` puts one handler with `JsonFormatter` on the root logger, so kiemdiem's own
events (`log_event("sweep", scanned=…)`), APScheduler's and uvicorn's records and any
other library's all come out alike: `ts`, `level`, `logger`, `event` (`log` for a plain
record, which carries its `message`), the event's fields, and a `traceback` field when
there is one. A log collector reads each line without knowing who wrote it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

#: the logger of kiemdiem's structured events
EVENTS = logging.getLogger("kiemdiem.events")
#: libraries whose INFO records narrate routine work (`transitions`: two lines per state
#: change), logged from WARNING up only
CHATTY = ("transitions",)


def log_event(event: str, *, level: int = logging.INFO, exc_info: BaseException | None = None,
              **fields: Any) -> None:
    """Log `event` with `fields` as keys of its JSON line (and `exc_info`'s traceback as one more)."""
    EVENTS.log(level, event, exc_info=exc_info, extra={"event": event, "fields": fields})


class JsonFormatter(logging.Formatter):
    """A record as `{"ts", "level", "logger", "event", …fields or "message"[, "traceback"]}`."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "event": getattr(record, "event", "log"),
        }
        fields = getattr(record, "fields", None)
        if fields is None:
            data["message"] = record.getMessage().strip()
        else:
            data.update((k, v) for k, v in fields.items() if k not in data)
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class StdoutHandler(logging.Handler):
    """Writes each formatted record as one line to the `sys.stdout` of the moment.

    `logging.Handler.handle` holds the handler's lock around `emit`, so lines written from
    the scheduler, the dispatcher, the web server and the signal watcher never run into one
    another (`print` writes the text and the newline separately).
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            sys.stdout.write(line)
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def configure(level: int = logging.INFO) -> None:
    """Send every log record of the process through `JsonFormatter` to stdout (once)."""
    root = logging.getLogger()
    if any(isinstance(h, StdoutHandler) for h in root.handlers):
        return
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))

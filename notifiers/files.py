"""The file channel, the embedded default: each message becomes a file in the outbox folder.

An email address gets the `.eml` a mail server would have received; anything else (a unit
code) gets a `.json`. Files are named by the message's idempotency key and written through a
temporary file and a rename, so a reader never sees half a file and a re-delivery of the
same row overwrites its file instead of adding a second one. A full disk (any OS error) is
transient: the row waits and is retried.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from notifiers.base import DeliveryError, DeliveryResult, Message
from notifiers.mime import MimeBuilder
from workflow.clock import Clock, system_clock


class FileChannel:
    """Write messages into `directory` as `<key>.eml` or `<key>.json`."""

    def __init__(self, directory: Path, mail_from: str, clock: Clock = system_clock) -> None:
        self.directory, self.clock = Path(directory), clock
        self.mime = MimeBuilder(mail_from)

    def render_bytes(self, message: Message) -> tuple[str, bytes]:
        """Return the file name and content for `message`."""
        if "@" in message.recipient:
            return f"{message.key}.eml", self.mime.build(message, self.clock()).data
        document = {"id": message.key, "dedup_key": message.dedup_key, "kind": message.kind,
                    "recipient": message.recipient, "subject": message.subject,
                    "text": message.text, "zalo_text": message.short, "data": message.data}
        return f"{message.key}.json", json.dumps(document, ensure_ascii=False, indent=2).encode()

    async def send(self, message: Message) -> DeliveryResult:
        name, content = self.render_bytes(message)
        target = self.directory / name
        temp = self.directory / f".{name}.{os.getpid()}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(temp, "wb") as handle:
                handle.write(content)
            os.replace(temp, target)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise DeliveryError(f"cannot write {target}: {exc.strerror or exc}") from exc
        return DeliveryResult(reference=str(target))

    async def aclose(self) -> None:
        return None

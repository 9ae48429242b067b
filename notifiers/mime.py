"""Build the MIME email for a message: multipart text + HTML, UTF-8, a stable Message-ID.

The email channel sends it; the file channel writes the very same bytes to a `.eml`, so what
lands in `var/outbox/` is exactly what a mail server would have received.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from notifiers.base import Message


def sender_domain(mail_from: str) -> str:
    """Return the domain of the sender address, used on the right of the Message-ID."""
    return mail_from.rsplit("@", 1)[-1].strip("> ") or "localhost"


def build_mime(message: Message, mail_from: str, now: datetime) -> EmailMessage:
    """Return the email for `message`; a re-delivery of the same row has the same Message-ID."""
    mime = EmailMessage()
    mime["From"] = mail_from
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(now)
    mime["Message-ID"] = message.message_id(sender_domain(mail_from))
    mime["Auto-Submitted"] = "auto-generated"
    mime["X-Kiemdiem-Kind"] = message.kind
    mime.set_content(message.text, charset="utf-8")
    mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime

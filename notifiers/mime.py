"""The email for a message as bytes: multipart text + HTML, UTF-8, base64, a stable Message-ID.

The email channel sends these bytes; the file channel writes the very same bytes to a
`.eml`, so what lands in `var/outbox/` is exactly what a mail server would have received.

Every message has the same shape, so it is written directly instead of through
`email.mime` and a generator: the standard library re-folds every header of a message
through `email.header.Header` when flattening it, which made the dispatcher slower than
the SMTP server it feeds. Only the subject and a display name
need RFC 2047 encoding (`encoded_words` for the subject, `formataddr` for names); bodies
are base64 (encoded in C), whose alphabet can never contain the boundary's `=_`. Lines end in LF, as
`as_bytes()` wrote them; aiosmtplib turns them into CRLF on the wire. Every byte is ASCII
except a recipient address with a non-ASCII local part, written as UTF-8 (RFC 6532: such a
message only goes to a server that offers SMTPUTF8).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, formataddr, parseaddr

from notifiers.base import Message


@dataclass(frozen=True)
class Mime:
    """A built email: its bytes and its Message-ID (the delivery's reference)."""

    data: bytes
    message_id: str


def sender_domain(mail_from: str) -> str:
    """Return the domain of the sender address, used on the right of the Message-ID."""
    return parseaddr(mail_from)[1].rsplit("@", 1)[-1] or "localhost"


def encode_address(address: str) -> str:
    """Encode a display name with non-ASCII letters ("Ban Tổ chức <x@y>") per RFC 2047."""
    if "<" not in address:
        return address
    name, addr = parseaddr(address)
    return formataddr((name, addr), charset="utf-8") if name else addr


#: UTF-8 bytes per encoded word: base64 of 42 bytes is 56 characters, 68 with `=?utf-8?b?…?=`
#: (RFC 2047 allows 75), so even "Subject: " and the first word fit a line of 78
WORD_BYTES = 42


def encoded_words(text: str) -> str:
    """Encode a header value per RFC 2047 (base64 words, never splitting a character), folded."""
    if text.isascii():
        return text
    words, chunk = [], b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words)


def _base64_part(content_type: str, text: str) -> str:
    body = base64.encodebytes(text.encode("utf-8")).decode("ascii")
    return (f'Content-Type: {content_type}; charset="utf-8"\nMIME-Version: 1.0\n'
            f"Content-Transfer-Encoding: base64\n\n{body}")


class MimeBuilder:
    """Builds the emails of one sender; the sender's header and domain are encoded once."""

    def __init__(self, mail_from: str) -> None:
        self.from_header = encode_address(mail_from)
        self.domain = sender_domain(mail_from)

    def build(self, message: Message, now: datetime) -> Mime:
        """Return the email for `message`; a re-delivery of the same row has the same Message-ID."""
        message_id = message.message_id(self.domain)
        boundary = f"=_kiemdiem_{message.key}"
        head = (f'Content-Type: multipart/alternative;\n boundary="{boundary}"\nMIME-Version: 1.0\n'
                f"From: {self.from_header}\nTo: {encode_address(message.recipient)}\n"
                f"Subject: {encoded_words(message.subject)}\nDate: {format_datetime(now)}\nMessage-ID: {message_id}\n"
                f"Auto-Submitted: auto-generated\nX-Kiemdiem-Kind: {message.kind}\n\n")
        parts = (_base64_part("text/plain", message.text), _base64_part("text/html", message.html))
        body = "".join(f"--{boundary}\n{part}" for part in parts) + f"--{boundary}--\n"
        return Mime(data=(head + body).encode("utf-8"), message_id=message_id)

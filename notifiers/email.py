"""The email channel: aiosmtplib over a small pool of reused connections.

Opening an SMTP session costs more than sending a message (DESIGN.md: ~146 msg/s with a
connection per message, ~380 with 4 reused connections), so up to `connections` sessions
stay open and each send borrows one. A failed session is dropped and reopened on next use.
SMTP 4xx replies, timeouts and connection errors are transient; a 5xx refusal of the
recipient, the sender or the data is permanent.
"""

from __future__ import annotations

import asyncio
import ssl
from email.utils import parseaddr
from typing import Literal

import aiosmtplib

from notifiers.base import DeliveryError, DeliveryResult, Message
from notifiers.mime import MimeBuilder
from workflow.clock import Clock, system_clock

TlsMode = Literal["none", "starttls", "tls"]
#: errors on a session that may simply have been closed by the server while idle
STALE_SESSION = (aiosmtplib.SMTPServerDisconnected, ConnectionError)


def classify(exc: Exception) -> DeliveryError:
    """Say whether an SMTP failure is worth retrying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return DeliveryError(f"SMTP refused the recipient: {detail}", permanent=permanent)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryError(f"SMTP login failed ({exc.code} {exc.message}): check "
                             "KIEMDIEM_SMTP_USER and KIEMDIEM_SMTP_PASSWORD")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        refused = isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPSenderRefused
                             | aiosmtplib.SMTPDataError)
        return DeliveryError(f"SMTP {exc.code} {exc.message}", permanent=refused and exc.code >= 500)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return DeliveryError("the SMTP server did not answer in time")
    return DeliveryError(f"SMTP connection failed: {exc}")


class EmailChannel:
    """Send messages through one SMTP server, reusing up to `connections` sessions."""

    def __init__(self, *, host: str, port: int, mail_from: str, tls: TlsMode = "none",
                 username: str | None = None, password: str | None = None,
                 timeout: float = 30.0, connections: int = 4,
                 tls_context: ssl.SSLContext | None = None, clock: Clock = system_clock) -> None:
        self.host, self.port, self.mail_from = host, port, mail_from
        self.tls, self.username, self.password = tls, username, password
        self.timeout, self.tls_context, self.clock = timeout, tls_context, clock
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[aiosmtplib.SMTP] = []
        self.envelope_from = parseaddr(mail_from)[1]
        self.mime = MimeBuilder(mail_from)

    def _session(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self.timeout,
            use_tls=self.tls == "tls", start_tls=self.tls == "starttls",
            username=self.username, password=self.password, tls_context=self.tls_context,
        )

    async def send(self, message: Message) -> DeliveryResult:
        async with self._slots:
            mime = self.mime.build(message, self.clock())
            envelope = (self.envelope_from, [message.recipient], mime.data)
            session = self._idle.pop() if self._idle else self._session()
            reused = session.is_connected
            try:
                try:
                    await self._send(session, *envelope)
                except STALE_SESSION:
                    if not reused:
                        raise
                    await self._send(session, *envelope)  # the server closed it while idle: once more
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                session.close()
                raise classify(exc) from exc
            self._idle.append(session)
        return DeliveryResult(reference=mime.message_id)

    @staticmethod
    async def _send(session: aiosmtplib.SMTP, sender: str, recipients: list[str],
                    content: bytes) -> None:
        """Send bytes already flattened (`send_message` would flatten and re-parse headers)."""
        if not session.is_connected:
            await session.connect()
        await session.sendmail(sender, recipients, content)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for session in idle:
            try:
                await session.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                session.close()

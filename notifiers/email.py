"""The email channel: aiosmtplib over a small pool of reused connections.

Opening an SMTP session costs more than sending a message (several round trips and, with
TLS, a handshake), so up to `connections` sessions
stay open and each send borrows one. A failed session is dropped and reopened on next use.
SMTP 4xx replies and read timeouts are transient; a refused, reset or timed-out connection,
a name that does not resolve and a 421 ("service not available") say the server is down
(`unreachable`: the dispatcher pauses the channel). A 5xx refusal of the recipient, the
sender or the data is permanent, and so is an address no server can take: malformed, or
with a non-ASCII local part when the server does not offer SMTPUTF8 — each refused on the
first attempt with the address and the reason.

The name this host gives in EHLO is looked up once per channel: aiosmtplib otherwise calls
`socket.getfqdn()` for every new session, outside its connect timeout and in the thread pool
the dispatcher's claims and records share, so a slow resolver would hold up the database
work of every reconnection (a flaky server reconnects often).
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from email.utils import parseaddr

import aiosmtplib

from config.settings import TlsMode
from notifiers.base import DeliveryError, DeliveryResult, Message
from notifiers.mime import MimeBuilder
from workflow.clock import Clock, system_clock

#: errors on a session that may simply have been closed by the server while idle
STALE_SESSION = (aiosmtplib.SMTPServerDisconnected, ConnectionError)
#: what a local part or a domain label may not contain (RFC 5321 dot-atoms, unquoted)
FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f()<>\[\]:;@\\,\"]")
#: SMTP's "service not available, closing the channel": the server is there but not serving
SERVICE_NOT_AVAILABLE = 421


def address_problem(address: str) -> str | None:
    """Why no mail server could ever take `address` (None: it may be deliverable)."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "it is not an email address (local-part@domain)"
    if FORBIDDEN.search(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return "its local part is malformed"
    if FORBIDDEN.search(domain) or "." not in domain.strip(".") or ".." in domain:
        return "its domain is malformed"
    try:
        domain.encode("idna")
    except UnicodeError:
        return "its domain is not a valid internationalised name"
    return None


def ascii_domain(address: str) -> str:
    """The address with an internationalised domain in its ASCII (punycode) form."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}" if not domain.isascii() else address


def classify(exc: Exception, recipient: str = "") -> DeliveryError:
    """Say whether an SMTP failure is worth retrying, and whether the server is down."""
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryError(f"cannot deliver to {recipient}: its local part is not ASCII and the "
                             f"SMTP server does not support SMTPUTF8", permanent=True)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return DeliveryError(f"SMTP refused the recipient {detail}", permanent=permanent,
                             unreachable=SERVICE_NOT_AVAILABLE in codes)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryError(f"SMTP login failed ({exc.code} {exc.message}): check "
                             "KIEMDIEM_SMTP_USER and KIEMDIEM_SMTP_PASSWORD")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        refused = isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPSenderRefused
                             | aiosmtplib.SMTPDataError)
        if isinstance(exc, aiosmtplib.SMTPRecipientRefused) and exc.code >= 500:
            return DeliveryError(f"SMTP refused the recipient {exc.recipient}: {exc.code} {exc.message}",
                                 permanent=True)
        return DeliveryError(f"SMTP {exc.code} {exc.message}", permanent=refused and exc.code >= 500,
                             unreachable=exc.code == SERVICE_NOT_AVAILABLE)
    if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError):
        return DeliveryError(f"the SMTP server did not accept a connection in time: {exc}", unreachable=True)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return DeliveryError("the SMTP server did not answer in time")
    # refused or reset connections, names that do not resolve, a server that hung up
    return DeliveryError(f"SMTP connection failed: {exc}", unreachable=True)


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
        self.local_hostname: str | None = None  # looked up by the first send

    def _session(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self.timeout,
            local_hostname=self.local_hostname,
            use_tls=self.tls == "tls", start_tls=self.tls == "starttls",
            username=self.username, password=self.password, tls_context=self.tls_context,
        )

    async def send(self, message: Message) -> DeliveryResult:
        problem = address_problem(message.recipient)
        if problem is not None:
            raise DeliveryError(f"cannot deliver to {message.recipient!r}: {problem}", permanent=True)
        recipient = ascii_domain(message.recipient)
        if self.local_hostname is None:
            self.local_hostname = await asyncio.to_thread(socket.getfqdn)
        async with self._slots:
            mime = self.mime.build(message, self.clock())
            envelope = (self.envelope_from, [recipient], mime.data)
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
                # a refusal leaves the session usable (aiosmtplib resets the envelope): reconnecting
                # after every 4xx would slow a busy server further
                refusal = isinstance(exc, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused)
                if refusal and session.is_connected and getattr(exc, "code", 0) != SERVICE_NOT_AVAILABLE:
                    self._idle.append(session)
                else:
                    session.close()
                raise classify(exc, message.recipient) from exc
            self._idle.append(session)
        return DeliveryResult(reference=mime.message_id)

    @staticmethod
    async def _send(session: aiosmtplib.SMTP, sender: str, recipients: list[str],
                    content: bytes) -> None:
        """Send bytes already flattened (`send_message` would flatten and re-parse headers)."""
        if not session.is_connected:
            await session.connect()
        utf8 = not all(address.isascii() for address in recipients)
        await session.sendmail(sender, recipients, content, mail_options=["SMTPUTF8"] if utf8 else None)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for session in idle:
            try:
                await session.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                session.close()

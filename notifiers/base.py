"""What every channel shares: the rendered `Message`, the `Channel` protocol and its errors.

A channel only knows how to hand one message to one peer. It says how that went by
returning a `DeliveryResult` or raising `DeliveryError(permanent=...)`; the dispatcher alone
decides what a failure means for the outbox row (retry later, `failed`, `dead`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: ZNS and OA messages are refused by Zalo above this many characters.
ZALO_MAX_CHARS = 400


def idempotency_key(dedup_key: str) -> str:
    """Derive the stable key a receiver uses to drop a duplicate (same row, same key)."""
    return hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Message:
    """One outbox row rendered for its channel: every text a channel may need, and the data.

    `short` is the Zalo text (at most `ZALO_MAX_CHARS`, only unit, stage, deadline and link);
    `data` is the row's payload, for channels that send structured data (ZNS, webhook).
    """

    kind: str
    channel: str
    recipient: str
    dedup_key: str
    subject: str
    text: str
    html: str
    short: str
    data: dict[str, Any] = field(default_factory=dict)
    outbox_id: int | None = None

    @property
    def key(self) -> str:
        """The idempotency key: the same for every attempt at this row, on every process."""
        return idempotency_key(self.dedup_key)

    def message_id(self, domain: str) -> str:
        """Return the RFC 5322 Message-ID for this message (`<key@domain>`)."""
        return f"<{self.key}@{domain}>"


@dataclass(frozen=True)
class DeliveryResult:
    """A delivery the peer accepted; `reference` is its id for the message, when it gives one."""

    reference: str | None = None


class DeliveryError(Exception):
    """A delivery that did not happen.

    `permanent` failures (a rejected recipient, a malformed address, a bad phone number, an
    unapproved template) are never retried; the others are, after `retry_after` seconds when
    the peer said so. `unreachable` failures say the peer itself is down (refused or reset
    connection, DNS, connect timeout, "service not available"): the dispatcher then stops
    the whole channel for a while instead of retrying row by row.
    """

    def __init__(self, message: str, permanent: bool = False,
                 retry_after: float | None = None, unreachable: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.unreachable = unreachable


@runtime_checkable
class Channel(Protocol):
    """Hands a rendered message to one peer (a mail server, Zalo, a relay, a folder)."""

    async def send(self, message: Message) -> DeliveryResult:
        """Deliver `message` or raise `DeliveryError`."""
        ...

    async def aclose(self) -> None:
        """Release connections; the channel may be used again afterwards (it reconnects)."""
        ...

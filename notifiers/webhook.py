"""The webhook channel: a JSON POST signed the Standard Webhooks way, for a province's relay.

Headers `webhook-id` (the message's idempotency key, the same on every retry),
`webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`, keyed with the secret `whsec_<base64>`
(https://www.standardwebhooks.com). 429 and 5xx are retried (honouring `Retry-After`),
other 4xx are permanent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

import httpx

from config.errors import ConfigError
from config.zone import DEFAULT_ZONE
from notifiers.base import DeliveryResult, Message
from notifiers.http import status_error, transport_error
from workflow.clock import Clock, system_clock
from workflow.notices import local_iso

SECRET_PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    """Decode a `whsec_…` secret (the prefix is optional) into the HMAC key."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("webhook.bad_secret") from exc


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the `webhook-signature` value for one request."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def event_body(message: Message, timestamp: str) -> bytes:
    """Return the JSON body: `{type, timestamp, data}` as Standard Webhooks suggests."""
    data = {"id": message.key, "dedup_key": message.dedup_key, "kind": message.kind,
            "recipient": message.recipient, "subject": message.subject,
            "text": message.short, **message.data}
    document = {"type": f"kiemdiem.{message.kind}", "timestamp": timestamp, "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookChannel:
    """POST each message to one URL, signed with the shared secret."""

    def __init__(self, url: str, secret: str, timeout: float = 10.0, clock: Clock = system_clock) -> None:
        self.url, self.key, self.clock = url, secret_bytes(secret), clock
        self.client = httpx.AsyncClient(timeout=timeout)

    async def send(self, message: Message) -> DeliveryResult:
        now = self.clock()
        timestamp = int(now.timestamp())
        msg_id = f"msg_{message.key}"
        body = event_body(message, local_iso(now, DEFAULT_ZONE))
        headers = {"content-type": "application/json", "webhook-id": msg_id,
                   "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(self.key, msg_id, timestamp, body)}
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise transport_error(exc, "the webhook") from exc
        failure = status_error(response, now, "the webhook")
        if failure is not None:
            raise failure
        return DeliveryResult(reference=msg_id)

    async def aclose(self) -> None:
        await self.client.aclose()

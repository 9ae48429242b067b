"""The Zalo channels: ZNS (a template message to a phone number) and OA (text to a follower).

Both call Zalo's JSON APIs with an `access_token` header from the `TokenStore`; a token
Zalo rejects is refreshed once (under the database lock) and the call repeated. Zalo
answers HTTP 200 with an `error` code in the body: the codes that mean "try later" (quota,
rate, outside sending hours, system error) are transient, those that mean the message can
never go (bad phone, unknown or unapproved template, not a follower) are permanent.
ZNS carries `tracking_id` = the row's de-duplication key, so Zalo can tell a retry apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from notifiers.base import DeliveryError, DeliveryResult, Message
from notifiers.http import status_error, transport_error
from notifiers.render import deadline_text
from notifiers.tokens import TokenStore
from workflow import units
from workflow.clock import Clock, system_clock

ZNS_PATH = "/message/template"
OA_PATH = "/v3.0/oa/message/cs"
#: access token invalid or expired (ZNS, OA): refresh and try once more
TOKEN_REJECTED = frozenset({-124, -216})
#: Zalo's own system errors: Zalo is down, not the message wrong (the channel pauses)
SYSTEM_ERRORS = frozenset({-1})
#: the OA button that opens the unit's personal link (Zalo: a button title ≤ 100 characters)
OA_BUTTON_TITLE = "Báo cáo tiến độ"
OA_MAX_URL_CHARS = 1000
#: never deliverable: bad parameters, phone, template (unknown, not approved, bad data),
#: recipient not on Zalo / cannot receive / not a follower / no recent interaction; any
#: other code (system error, rate limit, quota, outside permitted hours…) is tried again later
PERMANENT = frozenset({-108, -109, -111, -112, -113, -114, -117, -118, -119, -139,
                       -201, -213, -230})


def normalise_phone(phone: str) -> str:
    """Return a Vietnamese mobile number as Zalo wants it (`84` + 9 digits), or refuse it."""
    local = units.normalise_phone(phone)
    if local is None:
        raise DeliveryError(f"'{phone}' is not a Vietnamese mobile number", permanent=True)
    return "84" + local[1:]


def zalo_error(body: Mapping[str, Any]) -> DeliveryError:
    """Map a Zalo error code to a transient or permanent failure (unknown codes: transient)."""
    code = int(body.get("error", 0))
    reason = f"Zalo error {code}: {body.get('message') or body.get('error_name') or ''}".strip()
    return DeliveryError(reason, permanent=code in PERMANENT, unreachable=code in SYSTEM_ERRORS)


def zns_template_data(message: Message) -> dict[str, str]:
    """The ZNS template's parameters: only the unit, the stage, the deadline and the link."""
    data = message.data
    return {"unit_name": data.get("unit_name") or "", "stage": data.get("stage_label") or "",
            "deadline": deadline_text(data),
            "link": data.get("link") or ""}


def oa_message(message: Message) -> dict[str, Any]:
    """The OA message: the short text and, when the message has a web link, one button
    ("Báo cáo tiến độ") that opens it (type `oa.open.url`)."""
    body: dict[str, Any] = {"text": message.short}
    link = message.data.get("link") or ""
    if link.startswith(("https://", "http://")) and len(link) <= OA_MAX_URL_CHARS:
        body["attachment"] = {"type": "template", "payload": {"buttons": [
            {"title": OA_BUTTON_TITLE, "type": "oa.open.url", "payload": {"url": link}}]}}
    return body


class ZaloClient:
    """Calls Zalo with a cached access token, refreshing it through the `TokenStore`."""

    def __init__(self, tokens: TokenStore, timeout: float = 10.0, clock: Clock = system_clock) -> None:
        self.tokens, self.clock = tokens, clock
        self.client = httpx.AsyncClient(timeout=timeout)
        self._token: str | None = None
        self._lock = asyncio.Lock()

    async def _access_token(self, rejected: str | None = None) -> str:
        async with self._lock:
            if self._token is None or self._token == rejected:
                self._token = await asyncio.to_thread(self.tokens.access_token, rejected)
            return self._token

    async def post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` and return Zalo's `data`; failures raise `DeliveryError`."""
        token = await self._access_token()
        for attempt in (1, 2):
            try:
                response = await self.client.post(url, json=body, headers={"access_token": token})
            except httpx.TransportError as exc:
                raise transport_error(exc, "Zalo") from exc
            failure = status_error(response, self.clock(), "Zalo")
            if failure is not None:
                raise failure
            try:
                answer = response.json()
            except ValueError as exc:
                raise DeliveryError(f"Zalo answered something that is not JSON: {exc}") from exc
            code = int(answer.get("error", 0))
            if code == 0:
                return answer.get("data") or {}
            if code in TOKEN_REJECTED and attempt == 1:
                token = await self._access_token(rejected=token)
                continue
            raise zalo_error(answer)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.client.aclose()


class ZaloZnsChannel:
    """Send a ZNS template message to the unit's phone number."""

    def __init__(self, client: ZaloClient, base_url: str, template_id: str) -> None:
        self.client, self.url, self.template_id = client, base_url.rstrip("/") + ZNS_PATH, template_id

    async def send(self, message: Message) -> DeliveryResult:
        data = await self.client.post(self.url, {
            "phone": normalise_phone(message.recipient), "template_id": self.template_id,
            "template_data": zns_template_data(message), "tracking_id": message.dedup_key,
        })
        return DeliveryResult(reference=str(data.get("msg_id") or ""))

    async def aclose(self) -> None:
        await self.client.aclose()


class ZaloOaChannel:
    """Send the short Zalo text to a follower of the Official Account, by user id."""

    def __init__(self, client: ZaloClient, base_url: str) -> None:
        self.client, self.url = client, base_url.rstrip("/") + OA_PATH

    async def send(self, message: Message) -> DeliveryResult:
        data = await self.client.post(self.url, {
            "recipient": {"user_id": message.recipient}, "message": oa_message(message),
        })
        return DeliveryResult(reference=str(data.get("message_id") or ""))

    async def aclose(self) -> None:
        await self.client.aclose()

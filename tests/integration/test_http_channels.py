"""The webhook and Zalo channels against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from notifiers.base import DeliveryError
from notifiers.render import Renderer
from notifiers.tokens import TokenStore
from notifiers.webhook import WebhookChannel
from notifiers.zalo import ZaloClient, ZaloOaChannel, ZaloZnsChannel
from tests import notify_fixtures
from tests.notify_fixtures import Clock
from tests.notify_helpers import T0, payload
from workflow.models import ZaloToken

http_peer = notify_fixtures.http_peer  # the loopback HTTP server fixture
SECRET = "whsec_" + base64.b64encode(b"a shared secret of the province!").decode()


def message(channel: str, recipient: str, **overrides):
    return Renderer().render(kind="late", channel=channel, recipient=recipient,
                             dedup_key=f"2026:GL-CQD-BTC:forms_submitted:late:0:{channel}:{recipient}",
                             payload=payload("late", **overrides), outbox_id=7)


def send(channel, msg):
    async def go():
        try:
            return await channel.send(msg)
        except DeliveryError as exc:
            return exc
        finally:
            await channel.aclose()
    return asyncio.run(go())


def verify(headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (Standard Webhooks): recompute and compare the signature."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(sig.split(",", 1)[1], expected)
               for sig in headers["webhook-signature"].split())


def test_webhook_is_signed_and_carries_the_idempotency_key(http_peer):
    http_peer.script = lambda path, h, body: (200 if verify(h, body) else 401, {}, {})
    msg = message("webhook", "GL-CQD-BTC")
    result = send(WebhookChannel(http_peer.url + "/hook", SECRET, clock=Clock(T0)), msg)
    assert not isinstance(result, DeliveryError), result
    (_, headers, body) = http_peer.requests[0]
    assert headers["webhook-id"] == f"msg_{msg.key}"
    assert headers["webhook-timestamp"] == str(int(T0.timestamp()))
    doc = json.loads(body)
    assert doc["type"] == "kiemdiem.late" and doc["data"]["unit_code"] == "GL-CQD-BTC"
    assert doc["timestamp"] == "2026-11-13T08:00:00+07:00"  # Vietnam time, as every instant people read
    assert doc["data"]["dedup_key"] == msg.dedup_key and "Quá hạn" in doc["data"]["text"]


@pytest.mark.parametrize(("status", "headers", "permanent", "retry_after"), [
    (429, {"Retry-After": "120"}, False, 120.0),
    (503, {}, False, None),
    (500, {}, False, None),
    (400, {}, True, None),
    (410, {}, True, None),
])
def test_webhook_failures(http_peer, status, headers, permanent, retry_after):
    http_peer.script = lambda *_: (status, headers, {"error": "x"})
    err = send(WebhookChannel(http_peer.url, SECRET, clock=Clock(T0)), message("webhook", "U1"))
    assert isinstance(err, DeliveryError)
    assert (err.permanent, err.retry_after) == (permanent, retry_after)


def test_webhook_that_hangs_times_out_transiently(http_peer):
    http_peer.script = lambda *_: (200, {}, "hang")
    err = send(WebhookChannel(http_peer.url, SECRET, timeout=0.3), message("webhook", "U1"))
    assert isinstance(err, DeliveryError) and not err.permanent and "in time" in str(err)


class FakeZalo:
    """Zalo's behaviour as the tests need it: single-use refresh tokens, token checks."""

    def __init__(self) -> None:
        self.generation = 0
        self.refreshes = 0
        self.send_error = 0
        self.lock = threading.Lock()

    def __call__(self, path, headers, body):
        if path == "/v4/oa/access_token":
            form = parse_qs(body.decode())
            with self.lock:
                if form["refresh_token"] != [f"refresh-{self.generation}"]:
                    return 400, {}, {"error": -14014, "error_description": "refresh token used"}
                self.generation += 1
                self.refreshes += 1
                return 200, {}, {"access_token": f"access-{self.generation}",
                                 "refresh_token": f"refresh-{self.generation}", "expires_in": "90000"}
        if headers.get("access_token") != f"access-{self.generation}":
            return 200, {}, {"error": -124, "message": "Access token is invalid"}
        if self.send_error:
            return 200, {}, {"error": self.send_error, "message": "refused"}
        return 200, {}, {"error": 0, "message": "Success", "data": {"msg_id": "m1", "message_id": "m2"}}


def zalo_client(db, peer, clock=None) -> ZaloClient:
    clock = clock or Clock(T0)
    store = TokenStore(db, app_id="app1", secret_key="s3cret", refresh_token="refresh-0",
                       oauth_url=peer.url, clock=clock)
    return ZaloClient(store, timeout=2, clock=clock)


def test_zns_sends_template_with_tracking_id_and_normalised_phone(db, http_peer):
    fake = FakeZalo()
    http_peer.script = fake
    msg = message("zalo_zns", "0912 000 003", score=99, rating="HTXS")
    result = send(ZaloZnsChannel(zalo_client(db, http_peer), http_peer.url, "tpl-42"), msg)
    assert result.reference == "m1"
    (sent,) = http_peer.bodies("/message/template")
    assert sent["phone"] == "84912000003" and sent["template_id"] == "tpl-42"
    assert sent["tracking_id"] == msg.dedup_key
    assert sent["template_data"] == {"unit_name": "Chi bộ Ban Tổ chức Tỉnh ủy",
                                     "stage": "Gửi báo cáo, biểu mẫu lên cấp trên",
                                     "deadline": "trước ngày 20/11/2026",
                                     "link": "http://127.0.0.1:8080/units/GL-CQD-BTC"}
    with db.session() as s:
        row = s.scalar(select(ZaloToken))
    assert (row.access_token, row.refresh_token) == ("access-1", "refresh-1")


def test_oa_sends_the_short_text_and_refreshes_a_rejected_token(db, http_peer):
    fake = FakeZalo()
    http_peer.script = fake
    assert send(ZaloOaChannel(zalo_client(db, http_peer), http_peer.url), message("zalo_oa", "441")).reference
    with db.session(write=True) as s:  # Zalo no longer accepts the stored access token
        s.scalar(select(ZaloToken)).access_token = "access-stale"
    client = zalo_client(db, http_peer)
    client._token = "access-stale"
    result = send(ZaloOaChannel(client, http_peer.url), message("zalo_oa", "441"))
    assert result.reference == "m2" and fake.refreshes == 2
    bodies = http_peer.bodies("/v3.0/oa/message/cs")
    assert bodies[-1]["recipient"] == {"user_id": "441"} and len(bodies[-1]["message"]["text"]) <= 400
    assert bodies[-1]["message"]["attachment"]["payload"]["buttons"] == [
        {"title": "Báo cáo tiến độ", "type": "oa.open.url",
         "payload": {"url": "http://127.0.0.1:8080/units/GL-CQD-BTC"}}]


def test_zalo_error_codes(db, http_peer):
    fake = FakeZalo()
    http_peer.script = fake
    for code, permanent in [(-108, True), (-112, True), (-133, False), (-144, False)]:
        fake.send_error = code
        err = send(ZaloZnsChannel(zalo_client(db, http_peer), http_peer.url, "t"),
                   message("zalo_zns", "0912000003"))
        assert isinstance(err, DeliveryError) and err.permanent is permanent and str(code) in str(err)


def test_bad_phone_is_permanent_without_calling_zalo(db, http_peer):
    http_peer.script = FakeZalo()
    err = send(ZaloZnsChannel(zalo_client(db, http_peer), http_peer.url, "t"),
               message("zalo_zns", "12345"))
    assert isinstance(err, DeliveryError) and err.permanent
    assert not http_peer.bodies("/message/template")


def test_concurrent_refreshes_use_the_single_use_token_once(db, http_peer):
    """Four processes' worth of stores refresh at once: one calls Zalo, the others reuse."""
    fake = FakeZalo()
    http_peer.script = fake
    stores = [TokenStore(db, app_id="app1", secret_key="s", refresh_token="refresh-0",
                         oauth_url=http_peer.url, clock=Clock(T0)) for _ in range(4)]
    results: list[str] = []
    threads = [threading.Thread(target=lambda st=st: results.append(st.access_token())) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["access-1"] * 4 and fake.refreshes == 1

"""The email channel against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from notifiers.base import DeliveryError
from notifiers.dispatcher import Dispatcher, DispatchPolicy
from notifiers.email import EmailChannel
from notifiers.render import Renderer
from tests import notify_fixtures
from tests.notify_fixtures import Clock, SmtpServer, free_port
from tests.notify_helpers import T0, add_rows, payload
from workflow.models import Notification

smtp = notify_fixtures.smtp  # the loopback SMTP server fixture
SENDER = "Ban Tổ chức <kiemdiem@tinhuy.example.vn>"


def channel(port: int, **kwargs) -> EmailChannel:
    return EmailChannel(host="127.0.0.1", port=port, mail_from=SENDER, timeout=5, **kwargs)


def message(recipient: str = "chibo.btc@tinhuy.example.vn"):
    return Renderer().render(kind="reminder", channel="email", recipient=recipient,
                             dedup_key=f"2026:GL-CQD-BTC:forms_submitted:reminder:7:email:{recipient}",
                             payload=payload())


async def send_all(ch: EmailChannel, messages) -> list:
    try:
        return await asyncio.gather(*(ch.send(m) for m in messages), return_exceptions=True)
    finally:
        await ch.aclose()


def test_multipart_utf8_message_with_stable_message_id(smtp):
    m = message()
    asyncio.run(send_all(channel(smtp.port), [m]))
    (got,) = smtp.recorder.messages()
    assert got["Subject"] == ("[Nhắc việc] Chi bộ Ban Tổ chức Tỉnh ủy: Gửi báo cáo, biểu mẫu lên "
                              "cấp trên trước ngày 20/11/2026")
    assert got["To"] == "chibo.btc@tinhuy.example.vn"
    assert got["From"].addresses[0].display_name == "Ban Tổ chức"
    assert got["Message-ID"] == f"<{m.key}@tinhuy.example.vn>"
    assert got.get_content_type() == "multipart/alternative"
    text, html = got.get_body(("plain",)), got.get_body(("html",))
    assert text.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    assert "Kính gửi đồng chí Lê Văn Sơn" in text.get_content()
    assert "<strong>trước ngày 20/11/2026</strong>" in html.get_content()
    assert smtp.recorder.envelopes == [("kiemdiem@tinhuy.example.vn", ["chibo.btc@tinhuy.example.vn"])]


def test_connections_are_reused(smtp):
    ch = channel(smtp.port, connections=2)
    results = asyncio.run(send_all(ch, [message(f"u{i}@example.vn") for i in range(20)]))
    assert not [r for r in results if isinstance(r, Exception)]
    assert len(smtp.recorder.messages()) == 20
    assert len(ch._idle) == 0  # closed by aclose


def test_rejected_recipient_is_permanent_and_4xx_transient(smtp):
    smtp.recorder.refuse["gone@example.vn"] = "550 5.1.1 no such user"
    smtp.recorder.refuse["full@example.vn"] = "452 4.2.2 mailbox full"
    gone, full, ok = asyncio.run(send_all(channel(smtp.port), [
        message("gone@example.vn"), message("full@example.vn"), message("ok@example.vn")]))
    assert isinstance(gone, DeliveryError) and gone.permanent and "550" in str(gone)
    assert "gone@example.vn" in str(gone)
    assert isinstance(full, DeliveryError) and not full.permanent and "452" in str(full)
    assert not isinstance(ok, Exception)
    smtp.recorder.data_reply = "451 4.3.0 try later"
    (later,) = asyncio.run(send_all(channel(smtp.port), [message()]))
    assert isinstance(later, DeliveryError) and not later.permanent


def test_undeliverable_addresses_fail_at_once_naming_the_address_and_why(smtp):
    malformed, spaced, utf8 = asyncio.run(send_all(channel(smtp.port), [
        message("chibo.btc.tinhuy.example.vn"), message("chi bo@tinhuy.example.vn"),
        message("chibo.đặcbiệt@tinhuy.example.vn")]))
    assert all(isinstance(e, DeliveryError) and e.permanent and not e.unreachable
               for e in (malformed, spaced, utf8))
    assert "'chibo.btc.tinhuy.example.vn'" in str(malformed) and "not an email address" in str(malformed)
    assert "'chi bo@tinhuy.example.vn'" in str(spaced) and "local part" in str(spaced)
    assert str(utf8) == ("cannot deliver to chibo.đặcbiệt@tinhuy.example.vn: its local part is not "
                         "ASCII and the SMTP server does not support SMTPUTF8")
    assert smtp.recorder.raw == []


def test_the_ehlo_name_is_looked_up_once_for_every_session(smtp):
    ch = channel(smtp.port, connections=2)
    asyncio.run(send_all(ch, [message(f"u{i}@example.vn") for i in range(4)]))
    assert ch.local_hostname == socket.getfqdn()
    assert ch._session().local_hostname == ch.local_hostname  # a reconnection asks no resolver


def test_a_non_ascii_address_goes_to_a_server_offering_smtputf8_and_a_domain_as_punycode():
    server = notify_fixtures.SmtpServer(free_port(), smtputf8=True)
    server.start()
    try:
        results = asyncio.run(send_all(channel(server.port), [
            message("chibo.đặcbiệt@tinhuy.example.vn"), message("chibo@đảngbộ.vn")]))
    finally:
        server.stop()
    assert not [r for r in results if isinstance(r, Exception)]
    assert [rcpt for _, rcpt in server.recorder.envelopes] == [
        ["chibo.đặcbiệt@tinhuy.example.vn"], ["chibo@xn--ngb-uqa4698amja.vn"]]
    assert server.recorder.messages()[0]["To"] == "chibo.đặcbiệt@tinhuy.example.vn"


def test_server_down_is_transient():
    (err,) = asyncio.run(send_all(channel(free_port()), [message()]))
    assert isinstance(err, DeliveryError) and not err.permanent and err.unreachable


def test_smtp_down_for_the_first_attempts_then_up_everything_arrives_once(db):
    server = SmtpServer(free_port())
    add_rows(db, 30)
    clock = Clock(T0)
    policy = DispatchPolicy(batch=100, concurrency=8, backoff=timedelta(minutes=1),
                            backoff_max=timedelta(minutes=10))

    async def attempt() -> None:
        d = Dispatcher(db, {"email": channel(server.port)}, Renderer(), policy, clock)
        try:
            while await d.step():
                pass
        finally:
            await d.aclose()

    for _ in range(2):  # the server is down
        asyncio.run(attempt())
        clock.advance(minutes=30)
    with db.session() as s:
        assert set(s.scalars(select(Notification.status))) == {"pending"}
    server.start()
    try:
        asyncio.run(attempt())
    finally:
        server.stop()
    with db.session() as s:
        stored = list(s.scalars(select(Notification)))
    assert {(r.status, r.attempts) for r in stored} == {("sent", 1)}  # the outage cost no attempt
    ids = server.recorder.message_ids()
    assert len(ids) == 30 and len(set(ids)) == 30


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_tls_modes_fail_cleanly_against_a_plain_server(smtp, mode):
    (err,) = asyncio.run(send_all(channel(smtp.port, tls=mode), [message()]))
    assert isinstance(err, DeliveryError) and not err.permanent

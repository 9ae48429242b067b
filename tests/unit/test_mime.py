"""The email bytes kiemdiem writes itself must read back as a standard MIME message."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from notifiers.mime import MimeBuilder
from notifiers.render import Renderer
from tests.notify_helpers import payload

NOW = datetime(2026, 11, 17, 1, 0, tzinfo=UTC)


def _built(subject_padding: str = "", sender: str = "Ban Tổ chức Tỉnh ủy <btc@gialai.example.vn>"):
    message = Renderer().render(kind="late", channel="email", recipient="bithu@example.vn",
                                dedup_key="2026/GL-TS/forms_submitted/late/1",
                                payload=payload("late", unit_name="Chi bộ Trường THCS" + subject_padding))
    return message, MimeBuilder(sender).build(message, NOW)


def test_a_parser_reads_back_headers_and_both_bodies_in_vietnamese() -> None:
    message, mime = _built()
    parsed = message_from_bytes(mime.data, policy=policy.default)
    assert parsed["Subject"] == message.subject
    assert parsed["From"].addresses[0].display_name == "Ban Tổ chức Tỉnh ủy"
    assert parsed["To"] == "bithu@example.vn"
    assert parsed["Message-ID"] == mime.message_id == f"<{message.key}@gialai.example.vn>"
    assert parsed["Date"].datetime == NOW
    assert parsed["Auto-Submitted"] == "auto-generated" and parsed["X-Kiemdiem-Kind"] == "late"
    assert parsed.get_content_type() == "multipart/alternative" and not parsed.defects
    text, html = (part for part in parsed.iter_parts())
    assert text.get_content_type() == "text/plain" and text.get_content() == message.text
    assert html.get_content_type() == "text/html" and html.get_content() == message.html
    assert "Chi bộ Trường THCS" in text.get_content()


def test_the_bytes_are_seven_bit_with_short_lines_even_for_a_long_subject() -> None:
    _, mime = _built(subject_padding=" và các đơn vị trực thuộc Đảng bộ xã Trà Sơn" * 4)
    lines = mime.data.split(b"\n")
    assert all(len(line) <= 78 for line in lines), max(lines, key=len)
    assert max(mime.data) < 128


def test_a_redelivery_builds_the_same_message_id_and_body() -> None:
    first, second = _built()[1], _built()[1]
    assert first.message_id == second.message_id and first.data == second.data

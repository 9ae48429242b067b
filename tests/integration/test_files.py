"""The file channel: one file per message, atomic, overwritten on re-delivery."""

from __future__ import annotations

import asyncio
import email
import email.policy
import errno
import json

from notifiers.base import DeliveryError
from notifiers.files import FileChannel
from notifiers.render import Renderer
from tests.notify_fixtures import Clock
from tests.notify_helpers import T0, payload


def message(recipient: str):
    return Renderer().render(kind="reminder", channel="file", recipient=recipient,
                             dedup_key=f"2026:GL-CQD-BTC:forms_submitted:reminder:7:file:{recipient}",
                             payload=payload())


def test_email_recipient_gets_an_eml_and_a_unit_code_a_json(tmp_path):
    ch = FileChannel(tmp_path / "outbox", "kiemdiem@tinhuy.example.vn", Clock(T0))
    eml, js = message("chibo.btc@tinhuy.example.vn"), message("GL-CQD-BTC")
    for m in (eml, js, eml):  # the second eml is a re-delivery
        asyncio.run(ch.send(m))
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert files == sorted([f"{eml.key}.eml", f"{js.key}.json"])
    parsed = email.message_from_bytes((tmp_path / "outbox" / f"{eml.key}.eml").read_bytes(),
                                      policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{eml.key}@tinhuy.example.vn>"
    assert "trước ngày 20/11/2026" in parsed.get_body(("plain",)).get_content()
    doc = json.loads((tmp_path / "outbox" / f"{js.key}.json").read_text(encoding="utf-8"))
    assert doc["recipient"] == "GL-CQD-BTC" and doc["zalo_text"].startswith("Nhắc việc")


def test_full_disk_is_transient_and_leaves_no_temp_file(tmp_path, monkeypatch):
    ch = FileChannel(tmp_path, "k@example.vn", Clock(T0))

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("notifiers.files.os.replace", full)
    try:
        asyncio.run(ch.send(message("GL-CQD-BTC")))
    except DeliveryError as exc:
        assert not exc.permanent and "No space left" in str(exc)
    else:
        raise AssertionError("expected a DeliveryError")
    assert list(tmp_path.iterdir()) == []

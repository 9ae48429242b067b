"""The renderer puts the link `link_for` gives into every text and the data; None keeps the payload's."""

from __future__ import annotations

from notifiers.render import Renderer
from notifiers.zalo import oa_message, zns_template_data
from tests.notify_helpers import payload

UNIT_LINK = "https://kiemdiem.example.vn/r/" + "T" * 43


def _render(link_for, kind="late"):
    return Renderer(link_for=link_for).render(kind=kind, channel="email", recipient="a@x.vn",
                                              dedup_key="k", payload=payload(kind))


def test_the_units_link_reaches_every_text_the_data_and_the_zalo_parts():
    asked = []
    message = _render(lambda kind, recipient, data: asked.append((kind, recipient, data["unit_code"]))
                      or UNIT_LINK)
    assert asked == [("late", "a@x.vn", "GL-CQD-BTC")]
    assert UNIT_LINK in message.text and UNIT_LINK in message.html and UNIT_LINK in message.short
    assert message.data["link"] == UNIT_LINK and zns_template_data(message)["link"] == UNIT_LINK
    assert oa_message(message)["attachment"]["payload"]["buttons"][0]["payload"] == {"url": UNIT_LINK}


def test_no_link_keeps_the_payloads_own():
    message = _render(lambda *_: None)
    assert message.data["link"] == payload("late")["link"] and UNIT_LINK not in message.text

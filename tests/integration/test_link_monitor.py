"""The officer revokes a unit's link from the monitor; the monitor never shows a link."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.integration.test_web_routes import client, login
from tests.linkdata import link_app, link_of, path_of, phone
from workflow.models import AuditEntry


def _officer(app, name):
    browser = client(app)
    assert login(browser, name).status_code == 303
    return browser


def test_an_officer_revokes_a_link_inside_their_subtree_and_it_is_audited(db):
    app = link_app(db)
    old = link_of(app, "GL-PC-CH-T1")
    anonymous = client(app).post("/units/GL-PC-CH-T1/duong-dan/thu-hoi", data={"csrf": "x"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    officer = _officer(app, "phucat")
    page = officer.get("/units/GL-PC-CH-T1")
    assert 'id="revoke-link"' in page.text and "/r/" not in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert officer.post("/units/GL-PC-CH-T1/duong-dan/thu-hoi", data={"csrf": "sai"}).status_code == 403
    answer = officer.post("/units/GL-PC-CH-T1/duong-dan/thu-hoi", data={"csrf": csrf})
    assert answer.status_code == 303
    shown = officer.get(answer.headers["location"])
    assert 'id="link-revoked"' in shown.text and "/r/" not in shown.text
    assert "Thu hồi, cấp lại đường dẫn riêng" in shown.text  # the audit trail, in words
    assert "cấp đường dẫn mới, đường dẫn cũ hết hiệu lực" in shown.text  # its reason, worded from a code
    assert phone(app).get(path_of(old)).status_code == 410
    assert link_of(app, "GL-PC-CH-T1") != old
    with app.db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "link.revoke")).one()
    assert entry.actor == "phucat" and entry.details["via"] == "monitor"
    # Trà Sơn is not under Phù Cát: refused as if it did not exist, the link untouched
    other = link_of(app, "GL-TS-T1")
    assert officer.post("/units/GL-TS-T1/duong-dan/thu-hoi", data={"csrf": csrf}).status_code == 404
    assert link_of(app, "GL-TS-T1") == other

"""The monitor's sample campaign (`tests.webdata`) with a fixed secret key, and helpers to
open a unit's personal link the way a secretary's phone would."""

from __future__ import annotations

import re
from dataclasses import replace

from starlette.testclient import TestClient

from config.settings import Secret
from kiemdiem.app import App
from kiemdiem.web import create_app
from tests.webdata import build
from workflow.db import Database
from workflow.lookup import find_unit, get_campaign

KEY = "khoa-bi-mat-chi-dung-trong-thu-nghiem-0123456789"


def link_app(db: Database) -> App:
    """The sample campaign on `db`, at 21/11/2026 09:00, its links signed with `KEY`."""
    app = build(db)
    return App(settings=replace(app.settings, secret_key=Secret(KEY)), clock=app.clock)


def link_of(app: App, code: str) -> str:
    """The unit's link as a message would carry it."""
    with app.db.session(write=True) as session:
        campaign = get_campaign(session, None)
        token = app.links.token(session, campaign.id, find_unit(session, code).id)
    assert token is not None
    return app.links.url(token)


def path_of(link: str) -> str:
    return "/r/" + link.rsplit("/r/", 1)[1]


def phone(app: App) -> TestClient:
    return TestClient(create_app(app), base_url="http://testserver")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form"
    return found.group(1)

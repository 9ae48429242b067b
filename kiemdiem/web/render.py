"""Jinja2 templates for the pages, with the filters that print dates the Vietnamese way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from config.wording import deadline_phrase
from kiemdiem.app import App
from kiemdiem.web import labels

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# the templates ship with the code: no stat() of every template file on every page
TEMPLATES.env.auto_reload = False
TEMPLATES.env.filters.update(d=labels.local_date, dt=labels.local_datetime, stage=labels.stage_label,
                             deadline=labels.deadline, reason=labels.audit_reason)
TEMPLATES.env.globals.update(KIND=labels.KIND, STATUS=labels.STATUS, CHANNEL=labels.CHANNEL,
                             ACTION=labels.ACTION, deadline_phrase=deadline_phrase)


def kiemdiem_app(request: Request) -> App:
    """The composition root the web application was created with."""
    return request.app.state.kiemdiem


def level_label(app: App, level: str) -> str:
    try:
        return app.hierarchy.label(level)
    except KeyError:
        return level


def flash(request: Request, text: str, ok: bool) -> None:
    """Leave one sentence for the next page this session shows (`page` shows it once)."""
    request.session["flash"] = {"ok": ok, "text": text}


def page(request: Request, template: str, context: dict[str, Any],
         status_code: int = 200) -> HTMLResponse:
    """Render a page; every template sees the viewer, the level labels and the CSRF token."""
    app = kiemdiem_app(request)
    context = {"viewer": getattr(request.state, "viewer", None),
               "level_label": lambda level: level_label(app, level),
               "csrf": request.session.get("csrf", ""),
               "flash": request.session.pop("flash", None), **context}
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)

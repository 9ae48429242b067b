"""Turn an outbox row's payload into the texts of a `Message`, with Jinja2 templates.

Each kind (`reminder`, `late`, `repeat`, `escalation`, `digest`, `manual`) has four templates in
`notifiers/templates/`: `<kind>.subject.j2`, `<kind>.txt.j2`, `<kind>.html.j2` and
`<kind>.zalo.j2`. A province overrides any of them by putting a file of the same name in
`Settings.templates_dir`, which is searched first. Undefined names are errors
(`StrictUndefined`), HTML is autoescaped, dates are local (Asia/Ho_Chi_Minh) as dd/mm/yyyy.

The Zalo template sees only the unit, the stage, the deadline and the link, so no override
can put a rating or a score into a Zalo message (agencies forbid that content on Zalo).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError

from config.wording import deadline_phrase
from config.zone import DEFAULT_ZONE
from notifiers.base import ZALO_MAX_CHARS, Message
from workflow.notices import plan_day

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
KINDS = ("reminder", "late", "repeat", "escalation", "digest", "manual")
ELLIPSIS = "…"


#: (kind, recipient, payload) -> the link this message should carry, or None to keep the
#: payload's own: the unit's personal link, computed at delivery time (never stored)
LinkFor = Callable[[str, str, Mapping[str, Any]], str | None]


class RenderError(Exception):
    """A template that cannot be rendered for this row (a permanent delivery failure)."""


def deadline_text(data: Mapping[str, Any]) -> str:
    """The deadline phrase of a payload or item, from its rule and plan date (one wording,
    `workflow.notices.deadline_phrase`); rows written without a plan date take it from the instant."""
    deadline = data.get("deadline")
    if not deadline:
        return ""
    rule = data.get("deadline_rule") or "before"
    day = data.get("plan_date") or plan_day(datetime.fromisoformat(deadline), rule, DEFAULT_ZONE)
    return deadline_phrase(rule, day)


def item_status(item: Mapping[str, Any]) -> str:
    """How an item stands: "còn 3 ngày", "đến nay đã chậm 9 ngày (nhắc lại lần 2)"."""
    days_late = item.get("days_late")
    if days_late is None:
        left = item.get("days_left")
        return f"còn {left} ngày" if left else "sắp đến hạn"
    said = f"đến nay đã chậm {days_late} ngày" if days_late else "nay đã quá hạn"
    repeat = item.get("repeat") or 0
    return f"{said} (nhắc lại lần {repeat})" if repeat else said


def urgency(item: Mapping[str, Any]) -> tuple[int, int]:
    """Sort key of items: the longest late first, then the nearest deadline."""
    if item.get("days_late") is not None:
        return (0, -item["days_late"])
    return (1, item.get("days_left") or 0)


def group_late_units(late_units: list[dict[str, Any]], level_label: Mapping[str, str],
                     stage_label: Mapping[str, str]) -> list[dict[str, Any]]:
    """Group late units by their parent (the digest's rows name it), else by level (in the
    order given), then by stage."""
    levels: list[dict[str, Any]] = []
    order = {name: i for i, name in enumerate(level_label)}

    def group(u: dict[str, Any]) -> tuple[Any, ...]:
        if u.get("parent_code"):
            return (0, u["parent_code"], u.get("parent_name") or u["parent_code"])
        return (1, order.get(u["level"], len(order)), level_label.get(u["level"], u["level"]))

    rows = sorted(late_units, key=lambda u: (group(u), u.get("stage") or "", u["unit_code"]))
    for key, in_group in groupby(rows, key=group):
        stages = []
        for stage, units in groupby(in_group, key=lambda u: u.get("stage") or ""):
            stages.append({"stage": stage, "label": stage_label.get(stage, stage),
                           "units": [dict(u, deadline_text=deadline_text(u)) for u in units]})
        levels.append({"label": key[2], "stages": stages, "count": sum(len(s["units"]) for s in stages)})
    return levels


class Renderer:
    """Render outbox payloads with the built-in templates and a province's overrides."""

    def __init__(self, templates_dir: Path | None = None,
                 level_labels: Mapping[str, str] | None = None,
                 stage_labels: Mapping[str, str] | None = None,
                 link_for: LinkFor | None = None) -> None:
        self.link_for = link_for
        loaders = [FileSystemLoader(str(templates_dir))] if templates_dir else []
        loaders.append(FileSystemLoader(str(BUILTIN_TEMPLATES)))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates are read once per process, not stat()ed per message
        )
        self.level_labels = dict(level_labels or {})
        self.stage_labels = dict(stage_labels or {})

    def context(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Return the email templates' context: the payload and the phrases derived from it."""
        ctx = dict(payload)
        ctx["deadline_text"] = deadline_text(payload)
        # a bundle lists its items; a row written before bundles is its own single item
        items = payload.get("items") or ([payload] if payload.get("stage") else [])
        ctx["items"] = sorted(({**item, "deadline_text": deadline_text(item), "status": item_status(item)}
                               for item in items), key=urgency)
        ctx["others"] = max(len(ctx["items"]) - 1, 0)
        ctx["repeat"] = payload.get("repeat", payload.get("occurrence"))
        ctx["level_label"] = self.level_labels.get(payload.get("level") or "", payload.get("level"))
        listed = list(payload.get("late_units") or [])
        ctx["groups"] = group_late_units(listed, self.level_labels, self.stage_labels)
        ctx["late_count"] = payload.get("late_count") or len(listed)
        ctx["late_unlisted"] = ctx["late_count"] - len(listed)
        day = payload.get("day")
        ctx["day_text"] = f"{date.fromisoformat(day):%d/%m/%Y}" if day else ""
        return ctx

    def zalo_context(self, ctx: Mapping[str, Any]) -> dict[str, Any]:
        """Return the only names a Zalo template may use: unit, stage, deadline, link, and how
        many other stages the bundle lists."""
        return {"unit_name": ctx.get("unit_name") or "", "stage_label": ctx.get("stage_label") or "",
                "deadline_text": ctx["deadline_text"], "link": ctx.get("link") or "",
                "others": ctx.get("others") or 0}

    def zalo_text(self, kind: str, ctx: Mapping[str, Any]) -> str:
        """Render the Zalo text within `ZALO_MAX_CHARS`, shortening the unit's name if needed."""
        zctx = self.zalo_context(ctx)
        template = self.env.get_template(f"{kind}.zalo.j2")
        text = template.render(zctx).strip()
        excess = len(text) - ZALO_MAX_CHARS
        if excess > 0:
            name = zctx["unit_name"]
            zctx["unit_name"] = name[: max(0, len(name) - excess - 1)] + ELLIPSIS
            text = template.render(zctx).strip()
        if len(text) > ZALO_MAX_CHARS:
            raise RenderError(f"the Zalo template '{kind}.zalo.j2' renders {len(text)} characters "
                              f"(at most {ZALO_MAX_CHARS})")
        return text

    def render(self, *, kind: str, channel: str, recipient: str, dedup_key: str,
               payload: Mapping[str, Any], outbox_id: int | None = None) -> Message:
        """Render every text of one message; a template problem raises `RenderError`."""
        if kind not in KINDS:
            raise RenderError(f"unknown notification kind '{kind}' (kinds: {', '.join(KINDS)})")
        try:
            link = self.link_for(kind, recipient, payload) if self.link_for else None
            if link:
                payload = {**payload, "link": link}
            ctx = self.context(payload)
            return Message(
                kind=kind, channel=channel, recipient=recipient, dedup_key=dedup_key,
                subject=" ".join(self.env.get_template(f"{kind}.subject.j2").render(ctx).split()),
                text=self.env.get_template(f"{kind}.txt.j2").render(ctx).strip() + "\n",
                html=self.env.get_template(f"{kind}.html.j2").render(ctx),
                short=self.zalo_text(kind, ctx),
                data=dict(payload), outbox_id=outbox_id,
            )
        except (TemplateError, KeyError, ValueError, TypeError) as exc:
            raise RenderError(f"cannot render the '{kind}' message: {exc}") from exc

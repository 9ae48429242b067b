"""The monitor's pages: overview, late list (and its exports), unit, plan, health.

Endpoints are plain functions (Starlette runs them in its thread pool); each opens one
read-only transaction and scopes every query to the viewer's subtree. A unit outside that
subtree answers 404, exactly like a unit that does not exist.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kiemdiem.web import monitor
from kiemdiem.web.accounts import Viewer
from kiemdiem.web.chart import COLOURS, Marker, progress_svg
from kiemdiem.web.exports import late_csv, late_xlsx
from kiemdiem.web.labels import STAGE_LABEL, local_date, stage_label, vietnamese_mermaid
from kiemdiem.web.render import kiemdiem_app, level_label, page
from workflow.campaigns import campaign_plan
from workflow.machine import mermaid
from workflow.models import Campaign
from workflow.spreadsheet import XLSX_MEDIA
from workflow.stages import STAGES, owes, stages_of

YEAR_RANGE = (2000, 2100)
#: how much of a bad parameter an error page repeats
ECHO_LIMIT = 32


def _viewer(request: Request) -> Viewer:
    return request.state.viewer


def _campaign(request: Request, session: Session) -> Campaign | None:
    """The campaign asked for (`?year=`), else the latest; None when there is none at all.

    Only a campaign rooted inside the viewer's subtree or above it counts: another
    province's campaign answers 404, as if it did not exist.
    """
    raw = request.query_params.get("year")
    year = _int_param(raw, "year", YEAR_RANGE[0], YEAR_RANGE[1]) if raw else None
    campaign = monitor.visible_campaign(session, year, _viewer(request).unit_path)
    if campaign is None and year is not None:
        raise HTTPException(404, f"Không có đợt kiểm điểm năm {year}.")
    return campaign


def _int_param(raw: str, name: str, minimum: int = 0, maximum: int = 3660) -> int:
    """A whole-number parameter within [minimum, maximum], else a 400 naming it."""
    try:
        value = int(raw) if len(raw) <= 12 else None
    except ValueError:
        value = None
    if value is None:
        raise HTTPException(400, f"Tham số '{name}' phải là số nguyên, không phải '{_echo(raw)}'.")
    if not minimum <= value <= maximum:
        raise HTTPException(400, f"Tham số '{name}' phải từ {minimum} đến {maximum}.")
    return value


def _echo(value: str) -> str:
    """A short prefix of what was sent, to name it without reflecting it whole."""
    return value if len(value) <= ECHO_LIMIT else value[:ECHO_LIMIT] + "…"


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise HTTPException(400, f"Tham số '{name}' không hợp lệ: '{_echo(value)}'.")
    return value


def _scan(request: Request, session: Session, campaign: Campaign, version: Hashable) -> monitor.Scan:
    """The viewer's subtree scanned (`monitor.scan`), from the cache while the data is unchanged."""
    path = _viewer(request).unit_path
    lowest = kiemdiem_app(request).hierarchy.names[-1]
    return request.app.state.scans.get((campaign.id, path), version,
                                       lambda: monitor.scan(session, campaign, path, lowest))


def _no_campaign(request: Request, active: str) -> Response:
    return page(request, "empty.html", {"active": active, "campaign": None})


def overview(request: Request) -> Response:
    app = kiemdiem_app(request)
    viewer = _viewer(request)
    level = _choice(request, "level", app.hierarchy.names)
    with app.db.session() as session:
        campaign = _campaign(request, session)
        if campaign is None:
            return _no_campaign(request, "overview")
        now = app.clock()
        cache = request.app.state.scans
        version = monitor.data_version(session)
        path = viewer.unit_path
        scan = _scan(request, session, campaign, version)
        daily = cache.get((campaign.id, path, level), version,
                          lambda: monitor.reached_days(session, campaign, path, level))
        progress = monitor.progress(session, campaign, daily, now, level)
    figures = monitor.overview(scan, now, app.hierarchy.names)
    markers = [Marker(stage, monitor.local_day(due.at), f"{level_label(app, lv)} — {stage_label(stage)}: {due}")
               for lv, stage, due in progress.markers]
    totals = {s: sum(n for (lv, stage), n in figures.owing.items()
                     if stage == s and level in (None, lv)) for s in progress.stages}
    chart = progress_svg(progress.reached_by_day, totals, markers, progress.start,
                         progress.end, monitor.local_day(now), STAGE_LABEL)
    shares = {s: (progress.reached_by_day[s][-1][1] if progress.reached_by_day[s] else 0)
              for s in progress.stages}
    late_total = sum(sum(bands) for bands in figures.late.values())
    return page(request, "overview.html", {
        "active": "overview", "campaign": campaign, "now": now, "figures": figures,
        "stages": STAGES, "late_total": late_total, "chart": chart, "progress": progress,
        "shares": shares, "totals": totals, "level": level, "colours": COLOURS, "levels": app.hierarchy.names,
        "markers": markers,
    })


SORTS = tuple(f"{by}_{way}" for by in monitor.LATE_ORDERS for way in ("desc", "asc"))
#: a search longer than this is cut (a unit's code or name is shorter)
SEARCH_LIMIT = 100


def _late_filter(request: Request) -> monitor.LateFilter:
    app = kiemdiem_app(request)
    raw_days = request.query_params.get("min_days") or "0"
    by, way = (_choice(request, "sort", SORTS) or "days_desc").rsplit("_", 1)
    return monitor.LateFilter(
        level=_choice(request, "level", app.hierarchy.names),
        stage=_choice(request, "stage", STAGES[1:]),
        min_days=_int_param(raw_days, "min_days"),
        ascending=way == "asc",
        q=(request.query_params.get("q") or "").strip()[:SEARCH_LIMIT],
        by=by,
    )


def _sort_links(request: Request, f: monitor.LateFilter) -> dict[str, str]:
    """For each sortable column, the query that sorts by it (again: the other way round)."""
    links = {}
    for by in monitor.LATE_ORDERS:
        way = ("desc" if f.ascending else "asc") if by == f.by else ("desc" if by == "days" else "asc")
        links[by] = urlencode({**request.query_params, "sort": f"{by}_{way}"})
    return links


def late(request: Request) -> Response:
    app = kiemdiem_app(request)
    viewer = _viewer(request)
    f = _late_filter(request)
    with app.db.session() as session:
        campaign = _campaign(request, session)
        if campaign is None:
            return _no_campaign(request, "late")
        now = app.clock()
        rows = monitor.late_rows(session, campaign, viewer.unit_path, now, f)
        scan = _scan(request, session, campaign, monitor.data_version(session))
        total = monitor.late_total(session, campaign, viewer.unit_path, now, f, scan)
    query = request.url.query
    links = _sort_links(request, f)
    return page(request, "late.html", {
        "query_with_sort": links["days"], "sort_links": links,
        "active": "late", "campaign": campaign, "now": now, "rows": rows, "total": total,
        "units": monitor.by_unit(rows, f), "filter": f, "levels": app.hierarchy.names,
        "stages": STAGES[1:], "query": query, "limit": monitor.LIST_LIMIT, "today": _today(now),
        "here": "/late" + (f"?{query}" if query else ""),
    })


def late_export(request: Request) -> Response:
    app = kiemdiem_app(request)
    viewer = _viewer(request)
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404)
    f = _late_filter(request)
    with app.db.session() as session:
        campaign = _campaign(request, session)
        if campaign is None:
            raise HTTPException(404, "Chưa có đợt kiểm điểm nào.")
        now = app.clock()
        rows = monitor.late_rows(session, campaign, viewer.unit_path, now, f, limit=None)
    label = lambda level: level_label(app, level)  # noqa: E731
    today = now.astimezone(app.zone).date()
    described = [viewer.unit_name]
    described += [text for text in (f.level and level_label(app, f.level), f.stage and stage_label(f.stage),
                                    f.min_days and f"trễ từ {f.min_days} ngày") if text]
    name = "-".join(str(part) for part in ("don-vi-cham", campaign.year, viewer.unit_code, f.level, f.stage,
                                           f.min_days and f"tre-{f.min_days}-ngay", f"{today:%Y%m%d}")
                    if part)
    if fmt == "csv":
        body, media = late_csv(rows, label, app.zone), "text/csv; charset=utf-8"
    else:
        title = f"Đơn vị chậm tiến độ — {campaign.title} — {local_date(now)}"
        body, media = late_xlsx(rows, label, app.zone, title, "; ".join(described)), XLSX_MEDIA
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def unit(request: Request) -> Response:
    app = kiemdiem_app(request)
    viewer = _viewer(request)
    with app.db.session() as session:
        found = monitor.find_visible_unit(session, request.path_params["code"], viewer.unit_path)
        if found is None:
            raise HTTPException(404, "Không tìm thấy đơn vị này trong phạm vi bạn được xem.")
        campaign = _campaign(request, session)
        if campaign is None:
            return _no_campaign(request, "unit")
        now = app.clock()
        detail = monitor.unit_page(session, campaign, found, viewer.unit_path, now)
    cycle = detail.cycle
    owed = [s for s in stages_of(cycle.stages_mask) if owes(cycle.state, cycle.stages_mask, s)] if cycle else []
    return page(request, "unit.html", {"active": "unit", "campaign": campaign, "now": now,
                                       "p": detail, "owed": owed, "today": _today(now),
                                       "here": request.url.path})


def _today(now: datetime) -> str:
    """The local day, as a date input's value (the officer's forms default to it)."""
    return monitor.local_day(now).isoformat()


def plan(request: Request) -> Response:
    app = kiemdiem_app(request)
    with app.db.session() as session:
        campaign = _campaign(request, session)
        if campaign is None:
            return _no_campaign(request, "plan")
        milestones = monitor.milestones(session, campaign)
    grid: dict[str, dict[str, Any]] = {}
    for m in milestones:
        grid.setdefault(m.level, {})[m.stage] = m
    levels = [lv for lv in app.hierarchy.names if lv in grid] + sorted(set(grid) - set(app.hierarchy.names))
    return page(request, "plan.html", {
        "active": "plan", "campaign": campaign, "plan": campaign_plan(campaign), "grid": grid,
        "levels": levels, "stages": [s for s in STAGES if any(s in g for g in grid.values())],
        "mermaid": vietnamese_mermaid(mermaid()),
    })


async def healthz(request: Request) -> Response:
    """Answer the load balancer: 200 when the database answers, 503 when it does not; with each
    enabled channel's state (`down` when a running instance cannot reach its peer), which
    does not make the instance unhealthy: its rows wait, nothing is lost."""
    from notifiers.health import channel_states

    app = kiemdiem_app(request)

    def ping() -> dict[str, dict[str, Any]]:
        with app.db.session() as session:
            session.execute(text("SELECT 1"))
        return channel_states(app.db, app.clock())

    try:
        down = await run_in_threadpool(ping)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    channels = {name: down.get(name, {"state": "up"}) for name in app.settings.channels}
    return JSONResponse({"status": "ok", "database": "ok", "channels": jsonable(channels)})


def jsonable(states: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Channel states with their instants as ISO text."""
    return {name: {k: v.isoformat() if isinstance(v, datetime) else v for k, v in state.items()}
            for name, state in states.items()}

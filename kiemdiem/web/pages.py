"""The monitor's pages: overview, late list (and its exports), unit, plan, health.

Endpoints are plain functions (Starlette runs them in its thread pool); each opens one
read-only transaction and scopes every query to the viewer's subtree. A unit outside that
subtree answers 404, exactly like a unit that does not exist.
"""

from __future__ import annotations

from collections.abc import Hashable
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
from kiemdiem.web.labels import STAGE_LABEL, local_date, stage_label
from kiemdiem.web.render import kiemdiem_app, level_label, page
from workflow.campaigns import campaign_plan
from workflow.errors import NotFound
from workflow.lookup import get_campaign
from workflow.machine import mermaid
from workflow.models import Campaign
from workflow.stages import STAGES


def _viewer(request: Request) -> Viewer:
    return request.state.viewer


def _campaign(request: Request, session: Session) -> Campaign | None:
    """The campaign asked for (`?year=`), else the latest; None when there is none at all."""
    raw = request.query_params.get("year")
    year = _int_param(raw, "year") if raw else None
    try:
        return get_campaign(session, year)
    except NotFound:
        if year is not None:
            raise HTTPException(404, f"Không có đợt kiểm điểm năm {year}.") from None
        return None


def _int_param(raw: str, name: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"Tham số '{name}' phải là số nguyên, không phải '{raw}'.") from None
    if value < minimum:
        raise HTTPException(400, f"Tham số '{name}' phải từ {minimum} trở lên.")
    return value


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise HTTPException(400, f"Tham số '{name}' không hợp lệ: '{value}'.")
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


def _late_filter(request: Request) -> monitor.LateFilter:
    app = kiemdiem_app(request)
    raw_days = request.query_params.get("min_days") or "0"
    return monitor.LateFilter(
        level=_choice(request, "level", app.hierarchy.names),
        stage=_choice(request, "stage", STAGES[1:]),
        min_days=_int_param(raw_days, "min_days"),
        ascending=_choice(request, "sort", ("days_desc", "days_asc")) == "days_asc",
    )


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
        total = monitor.late_count(_scan(request, session, campaign, monitor.data_version(session)), now, f)
    query = request.url.query
    flipped = {**request.query_params, "sort": "days_desc" if f.ascending else "days_asc"}
    return page(request, "late.html", {
        "query_with_sort": urlencode(flipped),
        "active": "late", "campaign": campaign, "now": now, "rows": rows, "total": total,
        "filter": f, "levels": app.hierarchy.names, "stages": STAGES[1:], "query": query,
        "limit": monitor.LIST_LIMIT,
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
    name = f"don-vi-cham-{campaign.year}-{viewer.unit_code}-{now:%Y%m%d}"
    if fmt == "csv":
        body, media = late_csv(rows, label), "text/csv; charset=utf-8"
    else:
        title = f"Đơn vị chậm tiến độ — {campaign.title} — {viewer.unit_name} — {local_date(now)}"
        body = late_xlsx(rows, label, title)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
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
    return page(request, "unit.html", {"active": "unit", "campaign": campaign, "now": now,
                                       "p": detail})


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
        "mermaid": mermaid(),
    })


async def healthz(request: Request) -> Response:
    """Answer the load balancer: 200 when the database answers, 503 when it does not."""
    app = kiemdiem_app(request)

    def ping() -> None:
        with app.db.session() as session:
            session.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})

"""The secretary's pages: `/r/<token>` (stages, "Đã hoàn thành", results, undo) and
`/r/<token>/lich.ics`, reached through the unit's personal link, without an account.

Every answer carries `Referrer-Policy: no-referrer` (the token is in the address) and no
cache. A token that never existed is the monitor's plain 404; a revoked or expired link, or
one of a deactivated unit, gets a page that says so. Requests are limited per address
(`AddressLimiter`); wrong tokens count heavier, so guessing stops long before it could work.
Forms carry the session's CSRF token, like the monitor's.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import deque
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kiemdiem.app import App
from kiemdiem.web import linkpage
from kiemdiem.web.auth import client_address, csrf_ok, csrf_token
from kiemdiem.web.calendar import unit_calendar
from kiemdiem.web.render import flash, kiemdiem_app, page
from kiemdiem.wording import on_page, problems_on_page
from workflow.errors import KiemdiemError
from workflow.links import Found
from workflow.stages import LABEL

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".xlsx")
HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
           "X-Robots-Tag": "noindex, nofollow"}
GONE = {
    "revoked": "Đường dẫn này đã bị thu hồi và thay bằng đường dẫn mới. Hãy dùng đường dẫn trong "
               "tin nhắn mới nhất, hoặc liên hệ Ban Tổ chức.",
    "expired": "Đợt kiểm điểm của đường dẫn này đã kết thúc; đường dẫn không còn dùng được.",
    "inactive": "Đơn vị của đường dẫn này đã ngừng hoạt động; đường dẫn không còn dùng được.",
}
#: requests per address per minute on token pages; a wrong token counts as this many
LIMIT_PER_MINUTE = 120
MISS_WEIGHT = 10


class AddressLimiter:
    """A sliding one-minute window of requests per client address (in this process)."""

    def __init__(self, per_minute: int = LIMIT_PER_MINUTE, window: float = 60.0) -> None:
        self.per_minute, self.window = per_minute, window
        self.seen: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, address: str, weight: int = 1) -> bool:
        """Count `weight` requests from `address`; say whether it is still within the limit."""
        now = time.monotonic()
        with self.lock:
            stamps = self.seen.setdefault(address, deque())
            while stamps and stamps[0] <= now - self.window:
                stamps.popleft()
            if len(self.seen) > 100_000:  # forget idle addresses rather than grow without end
                self.seen = {a: s for a, s in self.seen.items() if s}
            if len(stamps) >= self.per_minute:
                return False
            stamps.extend([now] * weight)
            return True


def _secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def _via(request: Request) -> dict[str, str]:
    return {"channel": "link", "address": client_address(request),
            "user_agent": request.headers.get("user-agent", "")[:300]}


def _resolve(request: Request, session: Session) -> Found:
    """The unit the token names, after the rate limit; a plain 404 for an unknown token."""
    limiter: AddressLimiter = request.app.state.link_limiter
    if not limiter.allow(client_address(request)):
        raise HTTPException(429, "Quá nhiều yêu cầu từ địa chỉ này; vui lòng thử lại sau một phút.")
    found = kiemdiem_app(request).links.resolve(session, request.path_params["token"])
    if found is None:
        limiter.allow(client_address(request), MISS_WEIGHT - 1)
        raise HTTPException(404)
    return found


def _gone(request: Request, found: Found) -> Response:
    return _secured(page(request, "link_gone.html", {"found": found, "message": GONE[found.status]},
                         status_code=410))


def _render(request: Request, found: Found, error: str | None = None,
            problems: list[str] | None = None, status: int = 200) -> Response:
    app = kiemdiem_app(request)
    with app.db.session() as session:
        view = linkpage.build_view(session, found, app.clock())
    return _page(request, view, error, problems, status)


def _page(request: Request, view: linkpage.LinkView, error: str | None = None,
          problems: list[str] | None = None, status: int = 200) -> Response:
    return _secured(page(request, "secretary.html", {
        "v": view, "token": request.path_params["token"], "csrf": csrf_token(request),
        "error": error, "problems": problems or [],
    }, status_code=status))


def _usable(request: Request, session: Session) -> tuple[Found, Response | None]:
    found = _resolve(request, session)
    if found.status != "ok":
        return found, _gone(request, found)
    if found.cycle is None:
        return found, _secured(page(request, "link_gone.html", {
            "found": found, "message": "Đơn vị không tham gia đợt kiểm điểm này."}, status_code=410))
    return found, None


def _resolved(request: Request) -> tuple[Found, Response | None]:
    """`_usable` in a transaction of its own."""
    with kiemdiem_app(request).db.session() as session:
        return _usable(request, session)


def show(request: Request) -> Response:
    """The unit's page (a plain function: Starlette runs it in its thread pool, one hop), read
    in one transaction: the token's unit, then its page."""
    app = kiemdiem_app(request)
    with app.db.session() as session:
        found, refused = _usable(request, session)
        if refused is not None:
            return refused
        view = linkpage.build_view(session, found, app.clock())
    return _page(request, view)


def _done_here(request: Request, message: str) -> Response:
    flash(request, message, ok=True)
    return _secured(RedirectResponse(f"/r/{request.path_params['token']}", status_code=303))


async def _checked_form(request: Request) -> tuple[Found, Any, Response | None]:
    """Resolve the token and read the form; a refusal response when either fails."""
    found, refused = await run_in_threadpool(_resolved, request)
    if refused is not None:
        return found, None, refused
    if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
        return found, None, await run_in_threadpool(
            _render, request, found, "Tệp lớn hơn 10 MB; không nhận.", None, 413)
    form = await request.form(max_files=1, max_fields=20)
    if not csrf_ok(request, form.get("csrf")):
        return found, form, await run_in_threadpool(
            _render, request, found, "Biểu mẫu đã hết hạn; trang vừa được tải lại, hãy gửi lại.", None, 403)
    return found, form, None


async def report_done(request: Request) -> Response:
    """"Đã hoàn thành": advance the cycle to the stage the form names, through the service."""
    found, form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    return await run_in_threadpool(_advance, request, found, form)


def _advance(request: Request, found: Found, form: Any) -> Response:
    """Check the form against what the token resolved to (no statement), then advance in one
    write transaction; the page is read again only when the service refuses."""
    app = kiemdiem_app(request)
    offered = linkpage.offer(found, app.clock())
    assert found.cycle is not None
    stage = str(form.get("stage") or "")
    if stage != offered.stage:
        return _render(request, found, _already(stage, found.cycle.state), status=409)
    try:
        day = date.fromisoformat(str(form.get("date") or offered.today))
    except ValueError:
        return _render(request, found, "Ngày hoàn thành không hợp lệ; hãy chọn một ngày.", status=400)
    wrong_day = linkpage.check_day(offered, day)
    if wrong_day:
        return _render(request, found, wrong_day, status=400)
    note = str(form.get("note") or "").strip()[:1000] or None
    try:
        app.cycle_service().advance(
            found.unit.code, year=found.campaign.year, to=stage,
            at=linkpage.reached_at(day, app.clock()), actor=linkpage.actor_for(found.unit),
            note=note, via=_via(request))
    except KiemdiemError as exc:
        with app.db.session() as session:
            now_view = linkpage.build_view(session, found, app.clock())
        if now_view.next_stage != stage:
            return _render(request, found, _already(stage, now_view.state), status=409)
        return _render(request, found, f"Chưa ghi nhận được: {_sentence(on_page(exc), found)}", status=409)
    return _done_here(request, f"Đã ghi nhận: {LABEL[stage]} — ngày {day:%d/%m/%Y}.")


def _already(stage: str, state: str) -> str:
    label = LABEL.get(stage, stage)
    return (f"Bước «{label}» đã được ghi nhận trước đó (có thể do người khác vừa báo); "
            f"đơn vị hiện ở bước «{LABEL[state]}».")


def _parts(exc: KiemdiemError) -> tuple[str, list[str]]:
    """An error's sentence and its list of problems (rule violations, bad rows)."""
    return on_page(exc), problems_on_page(exc)


def _sentence(message: str, found: Found) -> str:
    """A refusal from the service, without the unit code it starts with."""
    return message.removeprefix(f"{found.unit.code}: ").rstrip(".") + "."


async def submit_results(request: Request) -> Response:
    """The cell's results: a CSV/XLSX upload or the counts form, checked like `results submit`."""
    found, form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            return await run_in_threadpool(_render, request, found,
                                           "Chỉ nhận tệp CSV hoặc XLSX.", None, 400)
        body = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(body) > MAX_UPLOAD_BYTES:
            return await run_in_threadpool(_render, request, found,
                                           "Tệp lớn hơn 10 MB; không nhận.", None, 413)
        name = Path(upload.filename).name
    else:
        body, name, suffix = linkpage.result_counts(form).encode(), "so-luong.csv", ".csv"
    return await run_in_threadpool(_store_results, request, found, body, name, suffix)


def _store_results(request: Request, found: Found, body: bytes, name: str, suffix: str) -> Response:
    app: App = kiemdiem_app(request)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (Path(name).stem[:80] + suffix)
        path.write_bytes(body)
        try:
            app.results_service().submit(found.unit.code, path, year=found.campaign.year,
                                         actor=linkpage.actor_for(found.unit))
        except KiemdiemError as exc:
            message, problems = _parts(exc)
            return _render(request, found, f"Chưa lưu kết quả: {_sentence(message, found)}",
                           problems, status=422)
    return _done_here(request, "Đã lưu kết quả xếp loại. Bước tiếp theo: gửi báo cáo, biểu mẫu lên cấp trên.")


async def take_back(request: Request) -> Response:
    """Undo the last step reported through the link (within a day, if nothing moved since)."""
    found, form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    return await run_in_threadpool(_undo, request, found)


def _undo(request: Request, found: Found) -> Response:
    app = kiemdiem_app(request)
    try:
        with app.db.session(write=True) as session:
            stage = linkpage.undo(session, found, app.clock, _via(request))
    except KiemdiemError as exc:
        return _render(request, found, on_page(exc), status=409)
    return _done_here(request, f"Đã hủy bước «{LABEL.get(stage, stage)}».")


def calendar(request: Request) -> Response:
    """The unit's owed deadlines as an iCalendar feed a phone can subscribe to."""
    app = kiemdiem_app(request)
    with app.db.session() as session:
        found, refused = _usable(request, session)
        if refused is not None:
            return refused
        body = unit_calendar(session, found, app.clock(), app.settings.public_url)
    return _secured(Response(body, media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'inline; filename="lich-{found.unit.code}.ics"'}))

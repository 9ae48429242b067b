"""What an officer does to a unit from the monitor: record a stage, extend a deadline, reopen,
remind now. Each is a CSRF-checked POST on `/units/CODE/<action>` through the same use case
as the CLI (`ProgressImport`, `DeadlineService`, `CycleService`, `notifiers.manual`), audited
with the account's name, and only for a unit in the account's subtree (else 404, as a unit
outside it reads). The answer is a redirect back to the page it came from, carrying one
Vietnamese sentence (done, or why not) that the page shows once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kiemdiem.app import App
from kiemdiem.web import monitor
from kiemdiem.web.accounts import Viewer
from kiemdiem.web.auth import csrf_ok
from kiemdiem.web.labels import local_datetime
from kiemdiem.web.render import flash, kiemdiem_app
from kiemdiem.wording import on_page
from notifiers.manual import remind_now
from workflow.errors import BadInput, Conflict, KiemdiemError, Problem
from workflow.models import Cycle, Unit
from workflow.progress import ProgressImport
from workflow.stages import LABEL, RANK, STAGES
from workflow.tabular import Row

#: "dòng 2: " in front of a progress problem: a form has no lines


def _back(target: object, code: str) -> str:
    """Return to the monitor page the form was on (a local path), else the unit's page."""
    if isinstance(target, str) and re.fullmatch(r"/(units/[\w.-]+|late)(\?[^\s\\]*)?", target):
        return target
    return f"/units/{code}"


def _visible(app: App, viewer: Viewer, code: str) -> Unit:
    with app.db.session() as session:
        unit = monitor.find_visible_unit(session, code, viewer.unit_path)
    if unit is None:
        raise HTTPException(404, "Không tìm thấy đơn vị này trong phạm vi bạn được xem.")
    return unit


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def _stage(form: FormData) -> str:
    stage = _text(form, "stage")
    if stage not in STAGES[1:]:
        raise BadInput("web.choose_stage")
    return stage


def _day(form: FormData, missing: str) -> date:
    try:
        return date.fromisoformat(_text(form, "date"))
    except ValueError:
        raise BadInput(missing) from None


def record_stage(app: App, viewer: Viewer, unit: Unit, form: FormData) -> str:
    """Record that the unit reached a stage on a day: a one-row progress import, limited to the
    viewer's subtree, so the form and the spreadsheet follow the very same rules."""
    stage, day = _stage(form), _day(form, "web.choose_done_day")
    row = Row(1, {"code": unit.code, "stage": stage, "date": day, "note": _text(form, "note")})
    try:
        report = ProgressImport(app.db, app.cycle_service()).run(
            ["code", "stage", "date", "note"], [row], actor=viewer.name, under=viewer.unit_path)
    except KiemdiemError as exc:
        if isinstance(exc, Conflict):  # a concurrent change: look again
            already = _recorded_meanwhile(app, unit, stage)
            if already:
                return already
        if not exc.problems:
            raise
        exc.problem, exc.problems = _row_reason(exc.problems[0]), []
        raise
    if report.already_done:
        return f"Bước '{LABEL[stage]}' của {unit.name} đã được ghi nhận trước đó; không ghi lại."
    return f"Đã ghi nhận {unit.name} hoàn thành bước '{LABEL[stage]}' ngày {day:%d/%m/%Y}."


def _row_reason(problem: Problem) -> Problem:
    """What is wrong with the form's one row, without the row's number (a form has no rows)."""
    reasons = problem.data.get("reasons") or [problem.data.get("reason")]
    first = reasons[0] if isinstance(reasons, list) else None
    return first if isinstance(first, Problem) else problem


def _recorded_meanwhile(app: App, unit: Unit, stage: str) -> str | None:
    """After a write refused for a concurrent change: if that change recorded the stage, say so
    (two people reporting the same stage at once: one wins, the other is told)."""
    with app.db.session() as session:
        rank = session.scalar(select(Cycle.stage_rank).where(Cycle.unit_id == unit.id)
                              .order_by(Cycle.campaign_id.desc()).limit(1))
    if rank is not None and rank >= RANK[stage]:
        return f"Bước '{LABEL[stage]}' của {unit.name} vừa được người khác ghi nhận; không ghi lại."
    return None


def extend(app: App, viewer: Viewer, unit: Unit, form: FormData) -> str:
    stage, day = _stage(form), _day(form, "web.choose_new_deadline")
    reason = _text(form, "reason")
    if not reason:
        raise BadInput("web.extend_reason")
    rule = _text(form, "rule") or None
    if rule not in (None, "before", "by"):
        raise BadInput("web.rule_invalid")
    _, new = app.deadline_service().extend(unit.code, stage, day, rule=rule,
                                                       reason=reason, actor=viewer.name)
    return f"Đã gia hạn bước '{LABEL[stage]}' của {unit.name} đến {local_datetime(new)}."


def reopen(app: App, viewer: Viewer, unit: Unit, form: FormData) -> str:
    reason = _text(form, "reason")
    if not reason:
        raise BadInput("web.reopen_reason")
    outcome = app.cycle_service().reopen(unit.code, reason=reason, actor=viewer.name)
    stale = f"; cấp trên cần tổng hợp lại: {', '.join(outcome.flagged_stale)}" if outcome.flagged_stale else ""
    return f"Đã mở lại {unit.name} về bước '{LABEL[outcome.to_state]}'{stale}."


def remind(app: App, viewer: Viewer, unit: Unit, form: FormData) -> str:
    channels = remind_now(app.db, app.clock, unit.id, channels=app.settings.channels,
                          public_url=app.settings.public_url, actor=viewer.name)
    return f"Đã xếp thư nhắc {unit.name} vào hàng gửi ({len(channels)} kênh)."


Action = Callable[[App, Viewer, Unit, FormData], str]


def _endpoint(action: Action) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        code = request.path_params["code"]
        if not csrf_ok(request, form.get("csrf")):
            return Response("Yêu cầu không hợp lệ (thiếu mã CSRF); hãy tải lại trang và thử lại.",
                            status_code=403, media_type="text/plain; charset=utf-8")
        app, viewer = kiemdiem_app(request), request.state.viewer

        def run() -> str:
            return action(app, viewer, _visible(app, viewer, code), form)

        try:
            flash(request, await run_in_threadpool(run), ok=True)
        except KiemdiemError as exc:
            flash(request, on_page(exc), ok=False)
        return RedirectResponse(_back(form.get("next"), code), status_code=303)

    endpoint.__name__ = action.__name__
    return endpoint


record_stage_post = _endpoint(record_stage)
extend_post = _endpoint(extend)
reopen_post = _endpoint(reopen)
remind_post = _endpoint(remind)

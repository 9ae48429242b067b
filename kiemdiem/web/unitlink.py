"""The officer's hand on a unit's personal link: revoke it and issue a new one, from the
monitor's unit page (a CSRF-protected POST, only inside the officer's subtree, audited with
the account's name). The monitor never shows the link itself: the next message carries the
new one, and `kiemdiem links show` prints it for reading out over the phone.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kiemdiem.web import monitor
from kiemdiem.web.auth import csrf_ok
from kiemdiem.web.render import kiemdiem_app
from kiemdiem.wording import on_page
from workflow.errors import NotFound
from workflow.lookup import get_campaign


async def revoke(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        raise HTTPException(403, "Biểu mẫu đã hết hạn; hãy tải lại trang rồi làm lại.")
    app = kiemdiem_app(request)
    viewer = request.state.viewer
    code = request.path_params["code"]

    def run() -> None:
        with app.db.session(write=True) as session:
            unit = monitor.find_visible_unit(session, code, viewer.unit_path)
            if unit is None:
                raise HTTPException(404, "Không tìm thấy đơn vị này trong phạm vi bạn được xem.")
            try:
                campaign = get_campaign(session, None)
                app.links.revoke(session, campaign, unit, viewer.name, "monitor")
            except NotFound as exc:
                raise HTTPException(409, on_page(exc)) from exc

    await run_in_threadpool(run)
    return RedirectResponse(f"/units/{code}?duong-dan=moi", status_code=303)

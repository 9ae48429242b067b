"""Login, logout, the CSRF token and the gate every page passes through.

Sessions are Starlette's signed cookies (itsdangerous): the cookie holds the user id and the
CSRF token, signed with the key from `accounts.session_secret`; it is HttpOnly, SameSite=Lax,
and Secure when the monitor's public address is https. The user is re-read on every request,
so disabling an account ends its sessions at once.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kiemdiem.web.accounts import TooManyAttempts, authenticate, load_viewer
from kiemdiem.web.render import kiemdiem_app, page

PUBLIC_PATHS = frozenset({"/login", "/healthz"})
#: the units' personal links: the token in the address is the credential
PUBLIC_PREFIXES = ("/r/",)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
}


class LoginRequired(BaseHTTPMiddleware):
    """Send anyone without a valid session to `/login`; put the viewer on `request.state`."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES):
            uid = request.session.get("uid")
            viewer = None
            if isinstance(uid, int):
                viewer = await run_in_threadpool(load_viewer, kiemdiem_app(request).db, uid)
            if viewer is None:
                request.session.pop("uid", None)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return _secured(RedirectResponse(f"/login?next={quote(target)}", status_code=303))
            request.state.viewer = viewer
        return _secured(await call_next(request))


def _secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating one for a new session."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, submitted: object) -> bool:
    expected = request.session.get("csrf")
    return (isinstance(expected, str) and isinstance(submitted, str)
            and hmac.compare_digest(expected.encode(), submitted.encode()))


def _safe_next(target: object) -> str:
    """Only a path on this site (never `//host` or a full URL) may be returned to."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/"


async def login_form(request: Request) -> Response:
    return _login_page(request, request.query_params.get("next", "/"))


def _login_page(request: Request, next_url: str, error: str | None = None,
                status: int = 200, name: str = "") -> Response:
    return page(request, "login.html", {"csrf": csrf_token(request), "next": _safe_next(next_url),
                                        "error": error, "name": name}, status_code=status)


async def login(request: Request) -> Response:
    form = await request.form()
    next_url = _safe_next(form.get("next"))
    name = str(form.get("name") or "").strip()
    if not csrf_ok(request, form.get("csrf")):
        return _login_page(request, next_url, "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ; "
                           "vui lòng đăng nhập lại.", status=403, name=name)
    ip = request.client.host if request.client else "unknown"
    app = kiemdiem_app(request)
    try:
        viewer = await run_in_threadpool(authenticate, app.db, name, str(form.get("password") or ""),
                                         ip, app.clock)
    except TooManyAttempts:
        return _login_page(request, next_url, "Đăng nhập sai quá nhiều lần; vui lòng thử lại sau "
                           "15 phút.", status=429, name=name)
    if viewer is None:
        return _login_page(request, next_url, "Sai tên đăng nhập hoặc mật khẩu.", status=401,
                           name=name)
    request.session.clear()
    request.session["uid"] = viewer.id
    request.session["csrf"] = secrets.token_urlsafe(32)
    return RedirectResponse(next_url, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return Response("Yêu cầu không hợp lệ (thiếu mã CSRF).", status_code=403,
                        media_type="text/plain; charset=utf-8")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)

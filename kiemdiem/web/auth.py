"""Login, logout, the CSRF token and the gate every page passes through.

The cookie is Starlette's signed cookie (itsdangerous, keyed by `kiemdiem.secret_key`): it
holds the CSRF token and, once logged in, the token of a session held on the server
(`sessions.py`), which every request looks up, so logging out, a password change and a
disabled account end a session at once. It is HttpOnly, SameSite=Lax, and Secure when the
monitor's public address is https.

A login try is counted before its password is checked (`throttle.py`), and at most
`HASH_SLOTS` passwords are checked at once, off the event loop and outside any transaction:
a burst of logins waits its turn without holding threads or the database from other pages.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets
import weakref
from datetime import timedelta
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kiemdiem.web import sessions, throttle
from kiemdiem.web.accounts import MIN_PASSWORD_LENGTH, check_password
from kiemdiem.web.render import kiemdiem_app, page

PUBLIC_PATHS = frozenset({"/login", "/healthz"})
#: the units' personal links: the token in the address is the credential
PUBLIC_PREFIXES = ("/r/",)
#: passwords checked at once: argon2id already runs 4 lanes in parallel (64 MiB each) and
#: keeps every core busy while it checks, so a second check at once only takes CPU from
#: every other request
HASH_SLOTS = 1
#: how much of a submitted name is ever shown back
NAME_ECHO = 64


class LoginRequired:
    """Send anyone without a live session to `/login`; put the viewer on `request.state`.

    Plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which runs every request's
    endpoint in a task of its own and streams its response through a memory channel.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = request.session.get("sid")
        found = None
        if isinstance(token, str):
            app = kiemdiem_app(request)
            found = await run_in_threadpool(sessions.current, app.db, token, app.clock())
        if found is None:
            request.session.pop("sid", None)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            await RedirectResponse(f"/login?next={quote(target)}", status_code=303)(scope, receive, send)
            return
        request.state.viewer = found.viewer
        request.state.session_id = found.session_id
        await self.app(scope, receive, send)


def client_address(request: Request) -> str:
    """The client's address: the peer's, or, from a trusted proxy, the last untrusted hop of
    `X-Forwarded-For` (`KIEMDIEM_TRUSTED_PROXIES`); anyone else's header is ignored."""
    peer = request.client.host if request.client else "unknown"
    trusted = [ipaddress.ip_network(n, strict=False)
               for n in kiemdiem_app(request).settings.trusted_proxies]
    hops = [peer] + [h.strip() for h in reversed(
        ",".join(request.headers.getlist("x-forwarded-for")).split(",")) if h.strip()]
    for hop in hops:
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return hop[:64]
        if not any(address in network for network in trusted):
            return hop
    return hops[-1]


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = \
    weakref.WeakKeyDictionary()


def _hash_slots() -> asyncio.Semaphore:
    """The semaphore of the running event loop (a test client runs several loops in turn)."""
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(HASH_SLOTS)
    return _slots[loop]


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
                                        "error": error, "name": name[:NAME_ECHO]},
                status_code=status)


async def login(request: Request) -> Response:
    form = await request.form()
    next_url = _safe_next(form.get("next"))
    name = str(form.get("name") or "").strip()
    if not csrf_ok(request, form.get("csrf")):
        return _login_page(request, next_url, "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ; "
                           "vui lòng đăng nhập lại.", status=403, name=name)
    address = client_address(request)
    app = kiemdiem_app(request)
    verdict = await run_in_threadpool(throttle.reserve, app.db, name, address, app.clock())
    if not verdict.allowed:
        return _login_page(request, next_url, f"Đăng nhập sai nhiều lần; vui lòng thử lại sau "
                           f"{verdict.retry_after} giây.", status=429, name=name)
    if verdict.slow:
        await asyncio.sleep(throttle.NAME_SLOWDOWN)
    async with _hash_slots():
        user_id = await run_in_threadpool(check_password, app.db, name,
                                          str(form.get("password") or ""))
    if user_id is None:
        return _login_page(request, next_url, "Sai tên đăng nhập hoặc mật khẩu.", status=401,
                           name=name)
    await run_in_threadpool(throttle.succeeded, app.db, name, address)
    lifetime = timedelta(hours=app.settings.session_hours)
    token = await run_in_threadpool(sessions.open_session, app.db, user_id, address,
                                    request.headers.get("user-agent", ""), app.clock(), lifetime)
    request.session.clear()
    request.session["sid"] = token
    request.session["csrf"] = secrets.token_urlsafe(32)
    return RedirectResponse(next_url, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return Response("Yêu cầu không hợp lệ (thiếu mã CSRF).", status_code=403,
                        media_type="text/plain; charset=utf-8")
    token = request.session.get("sid")
    if isinstance(token, str):
        await run_in_threadpool(sessions.end_session, kiemdiem_app(request).db, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def password_form(request: Request) -> Response:
    return _password_page(request)


def _password_page(request: Request, error: str | None = None, status: int = 200,
                   done: bool = False) -> Response:
    return page(request, "password.html", {"csrf": csrf_token(request), "error": error, "done": done,
                                           "min_length": MIN_PASSWORD_LENGTH}, status_code=status)


async def change_password(request: Request) -> Response:
    """Change one's own password: the current one is checked (and counted like a login); the
    user's other sessions end, this one stays."""
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return _password_page(request, "Biểu mẫu không hợp lệ; vui lòng thử lại.", status=403)
    new, again = str(form.get("new") or ""), str(form.get("again") or "")
    if len(new) < MIN_PASSWORD_LENGTH:
        return _password_page(request, f"Mật khẩu mới phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
                              status=400)
    if new != again:
        return _password_page(request, "Hai lần nhập mật khẩu mới không khớp nhau.", status=400)
    app, viewer = kiemdiem_app(request), request.state.viewer
    address = client_address(request)
    verdict = await run_in_threadpool(throttle.reserve, app.db, viewer.name, address, app.clock())
    if not verdict.allowed:
        return _password_page(request, f"Nhập sai nhiều lần; vui lòng thử lại sau "
                              f"{verdict.retry_after} giây.", status=429)
    async with _hash_slots():
        user_id = await run_in_threadpool(check_password, app.db, viewer.name,
                                          str(form.get("current") or ""))
    if user_id != viewer.id:
        return _password_page(request, "Mật khẩu hiện tại không đúng.", status=400)
    await run_in_threadpool(throttle.succeeded, app.db, viewer.name, address)
    await run_in_threadpool(sessions.set_password, app.db, viewer.name, new,
                            request.state.session_id)
    return _password_page(request, done=True)

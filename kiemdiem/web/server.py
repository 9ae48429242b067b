"""Build the monitor's ASGI application and serve it with uvicorn, alone or in a thread.

`create_app(app)` is the ASGI application; `run_web(app, host, port)` serves it until
stopped (what `kiemdiem web` does); `WebServer(app, host, port).start()` serves it from a
background thread, for `kiemdiem serve`, which runs the scheduler and dispatcher beside it.
"""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.secretkey import secret_key
from kiemdiem.app import App
from kiemdiem.web import actions, auth, guards, pages, secretary, unitlink, uploads
from kiemdiem.web.cache import VersionedCache
from kiemdiem.web.render import page

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
SESSION_COOKIE = "kiemdiem_session"


def create_app(app: App, *, https: bool | None = None) -> Starlette:
    """Return the monitor as an ASGI application reading `app`'s database.

    Cookies are marked Secure when `https` is true, by default when the public URL in the
    settings (`KIEMDIEM_PUBLIC_URL`) is https.
    """
    if https is None:
        https = app.settings.public_url.startswith("https://")
    routes = [
        Route("/", pages.overview, name="overview"),
        Route("/late", pages.late, name="late"),
        Route("/late.{fmt:str}", pages.late_export, name="late_export"),
        Route("/units/{code:str}", pages.unit, name="unit"),
        Route("/units/{code:str}/duong-dan/thu-hoi", unitlink.revoke, methods=["POST"],
              name="unit_link_revoke"),
        Route("/units/{code:str}/advance", actions.record_stage_post, methods=["POST"]),
        Route("/units/{code:str}/extend", actions.extend_post, methods=["POST"]),
        Route("/units/{code:str}/reopen", actions.reopen_post, methods=["POST"]),
        Route("/units/{code:str}/remind", actions.remind_post, methods=["POST"]),
        Route("/progress", uploads.progress_form, methods=["GET"], name="progress"),
        Route("/progress", uploads.progress_upload, methods=["POST"]),
        Route("/plan", pages.plan, name="plan"),
        Route("/healthz", pages.healthz, name="healthz"),
        Route("/login", auth.login_form, methods=["GET"], name="login_form"),
        Route("/login", auth.login, methods=["POST"], name="login"),
        Route("/logout", auth.logout, methods=["POST"], name="logout"),
        Route("/password", auth.password_form, methods=["GET"], name="password_form"),
        Route("/password", auth.change_password, methods=["POST"], name="change_password"),
        *secretary_routes(),
    ]
    settings = app.settings
    middleware = [
        Middleware(guards.SecurityHeaders),
        Middleware(guards.AllowedHosts,
                   hosts=guards.allowed_hosts(settings.public_url, settings.allowed_hosts)),
        Middleware(guards.BodyLimit),
        Middleware(SessionMiddleware, secret_key=secret_key(settings).decode(),
                   session_cookie=SESSION_COOKIE, max_age=int(settings.session_hours * 3600),
                   same_site="lax", https_only=https),
        Middleware(auth.LoginRequired),
    ]
    web = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: _error_page, Exception: guards.server_error})
    web.state.kiemdiem = app
    web.state.scans = VersionedCache()
    web.state.link_limiter = secretary.AddressLimiter()
    return web


def secretary_routes() -> list[Route]:
    """The pages of the units' personal links (`/r/…`, no login: the token is the key)."""
    return [
        Route("/r/{token:str}", secretary.show, name="link"),
        Route("/r/{token:str}/lich.ics", secretary.calendar, name="link_calendar"),
        Route("/r/{token:str}/xong", secretary.report_done, methods=["POST"], name="link_done"),
        Route("/r/{token:str}/ket-qua", secretary.submit_results, methods=["POST"],
              name="link_results"),
        Route("/r/{token:str}/huy", secretary.take_back, methods=["POST"], name="link_undo"),
    ]


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "Không tìm thấy trang này.", 405: "Phương thức không được hỗ trợ.",
                413: "Nội dung gửi lên quá lớn."}
    detail = exc.detail if exc.detail and exc.detail not in {"Not Found", "Method Not Allowed"} \
        else messages.get(exc.status_code, "Yêu cầu không hợp lệ.")
    return page(request, "error.html", {"status": exc.status_code, "message": detail},
                status_code=exc.status_code)


def _config(app: App, host: str, port: int) -> uvicorn.Config:
    # log_config=None: uvicorn's lines go through the process's own (JSON) logging
    return uvicorn.Config(create_app(app), host=host, port=port, log_level="warning",
                          log_config=None, proxy_headers=False, server_header=False)


def run_web(app: App, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the monitor in this thread until interrupted (Ctrl-C / SIGTERM)."""
    uvicorn.Server(_config(app, host, port)).run()


class WebServer:
    """The monitor served from a daemon thread; `stop()` shuts it down cleanly."""

    def __init__(self, app: App, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.server = uvicorn.Server(_config(app, host, port))
        self.thread = threading.Thread(target=self.server.run, name="kiemdiem-web", daemon=True)

    def start(self, timeout: float = 10.0) -> WebServer:
        """Start serving and wait until the socket accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web monitor did not start (is the port in use?)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

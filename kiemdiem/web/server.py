"""Build the monitor's ASGI application and serve it with uvicorn, alone or in a thread.

`create_app(app)` is the ASGI application; `run_web(app, host, port, workers)` serves it
until stopped, from one process or several (what `kiemdiem web` does);
`WebServer(app, host, port).start()` serves it from a background thread of one process, for
`kiemdiem serve`, which runs the scheduler and dispatcher beside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from config.i18n import _
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


def _config(web: ASGIApp, host: str, port: int) -> uvicorn.Config:
    # log_config=None: uvicorn's lines go through the process's own (JSON) logging
    return uvicorn.Config(web, host=host, port=port, log_level="warning",
                          log_config=None, proxy_headers=False, server_header=False)


def run_web(app: App, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int = 1) -> None:
    """Serve the monitor in this thread until interrupted (Ctrl-C / SIGTERM), from `workers`
    processes sharing the socket when more than one."""
    serve_asgi(create_app(app), host, port, workers,
               after_fork=lambda: app.db.engine.dispose(close=False))


def serve_asgi(web: ASGIApp, host: str, port: int, workers: int = 1,
               after_fork: Callable[[], None] = lambda: None) -> None:
    """Serve `web` until SIGTERM/SIGINT; with `workers` > 1 from that many forked processes.

    One process runs Python one thread at a time: on a machine with several cores, forked
    workers accepting on the one listening socket each serve their share. Each child first
    calls `after_fork` (to drop the database connections it inherited) and then serves; the
    parent forwards SIGTERM/SIGINT to them and waits. When a child dies on its own, the parent
    stops the others and exits with an error, for the service manager to restart the lot.
    """
    config = _config(web, host, port)
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    sock = config.bind_socket()
    children: list[int] = []
    for _worker in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, measured by the end-to-end test
            code = 1
            try:
                after_fork()
                uvicorn.Server(config).run(sockets=[sock])
                code = 0
            except BaseException:  # the child never returns into the parent's code: log, then exit
                logging.getLogger(__name__).exception("web worker failed")
            finally:
                os._exit(code)
        children.append(pid)
    sock.close()
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    failed = False
    try:
        while children:
            pid, _status = os.wait()
            children.remove(pid)
            if not stopping:
                failed = True
                forward(signal.SIGTERM, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise SystemExit(_("A web worker stopped on its own; the others were stopped too."))


class WebServer:
    """The monitor served from a daemon thread; `stop()` shuts it down cleanly."""

    def __init__(self, app: App, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.server = uvicorn.Server(_config(create_app(app), host, port))
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

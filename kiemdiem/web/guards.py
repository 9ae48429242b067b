"""The monitor's outer walls, as plain ASGI middleware around everything else.

- `SecurityHeaders`: every response, 404 and 413 included, carries the security headers,
  and a redirect never names a host (Starlette's trailing-slash redirect would echo `Host`).
- `AllowedHosts`: a request for another host name (DNS rebinding, a forged `Host`) is
  refused before anything else runs; the hosts are `KIEMDIEM_PUBLIC_URL`'s and
  `KIEMDIEM_ALLOWED_HOSTS`.
- `BodyLimit`: a form body over 64 KB, an upload (multipart) over 10 MB is refused with 413
  before it is read, or as soon as a body without a length passes the limit.

The 500 page, which Starlette sends from outside every middleware, adds the headers itself
(`server_error`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kiemdiem.web.render import TEMPLATES

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
}
FORM_LIMIT = 64 * 1024
UPLOAD_LIMIT = 10 * 1024 * 1024
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: paths served whatever the Host (a load balancer asks by address)
ANY_HOST_PATHS = frozenset({"/healthz"})


def error_response(status: int, message: str) -> HTMLResponse:
    """The Vietnamese error page, for answers given before there is a session or a viewer."""
    html = TEMPLATES.get_template("error.html").render(status=status, message=message, viewer=None,
                                                       csrf="")
    response = HTMLResponse(html, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page: the traceback goes to the log (uvicorn logs it), never to the browser."""
    return error_response(500, "Máy chủ gặp lỗi khi xử lý yêu cầu này; vui lòng thử lại sau "
                               "hoặc báo cho quản trị viên.")


def allowed_hosts(public_url: str, extra: tuple[str, ...]) -> frozenset[str]:
    """The host names the monitor answers to; the loopback names go together."""
    hosts = {h.lower() for h in extra}
    public = (urlsplit(public_url).hostname or "").lower()
    hosts.add(public)
    if public in LOOPBACK:
        hosts |= LOOPBACK
    return frozenset(hosts - {""})


def _host_name(host: str) -> str:
    """`Host` without its port (`[::1]:8080` → `::1`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class SecurityHeaders:
    """Add the security headers to every response; make a redirect to this site relative."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        own = Headers(scope=scope).get("host", "").lower()

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                parts = urlsplit(headers.get("location", ""))
                if parts.netloc and parts.netloc.lower() == own:  # our own page: never echo Host
                    headers["location"] = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            await send(message)

        await self.app(scope, receive, secured)


class AllowedHosts:
    """Refuse a request whose `Host` is not one of ours (but the health check)."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "*" not in self.hosts and scope["path"] not in ANY_HOST_PATHS:
            host = _host_name(Headers(scope=scope).get("host", ""))
            if host not in self.hosts:
                await error_response(400, "Địa chỉ máy chủ trong yêu cầu không được phép.")(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse a request body over its limit: 64 KB for a form, 10 MB for an upload."""

    def __init__(self, app: ASGIApp, form_limit: int = FORM_LIMIT,
                 upload_limit: int = UPLOAD_LIMIT) -> None:
        self.app, self.form_limit, self.upload_limit = app, form_limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = self.upload_limit if upload else self.form_limit
        message = f"Nội dung gửi lên quá lớn (tối đa {limit // 1024 // (1024 if upload else 1)} " \
                  f"{'MB' if upload else 'KB'})."
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await error_response(413, message)(scope, receive, send)
            return
        received, started = 0, False

        async def limited() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return incoming

        async def watched(outgoing: Message) -> None:
            nonlocal started
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, limited, watched)
        except _TooLarge:
            if started:
                raise
            await error_response(413, message)(scope, receive, send)


class _TooLarge(Exception):
    """A body without a declared length went past the limit while it was read."""

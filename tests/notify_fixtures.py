"""Real peers on loopback for the notifier tests: an SMTP server and an HTTP server.

The SMTP server is aiosmtpd's `Controller` on 127.0.0.1 and a port found free beforehand
(never ::1, never port 0); it records every message and can refuse recipients or answer 4xx.
The HTTP server is a threaded `http.server` whose answers a test scripts: 200, 429 with
`Retry-After`, 500, 4xx, or a hang.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """An aiosmtpd handler that keeps what it receives and answers as told.

    aiosmtpd reads every attribute of its handler for each new connection, on the server's
    event loop (`inspect.getmembers`, looking for `auth_` methods), so no attribute may cost
    anything to read: what was received is parsed by calling `messages()`, never by a
    property (parsing thousands of messages per connection left the server mute for
    seconds, and clients timed out waiting for its greeting).
    """

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP reply to RCPT
        self.data_reply: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        with self.lock:  # parsed on demand: the fault tests push thousands through here
            self.raw.append(envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(r, policy=email.policy.default) for r in raw]

    def count(self) -> int:
        return len(self.raw)

    def message_ids(self) -> list[str]:
        with self.lock:
            return [_message_id(r) for r in self.raw]



def _message_id(raw: bytes) -> str:
    found = MESSAGE_ID.search(raw)
    assert found is not None, "a message without a Message-ID"
    return found.group(1).decode()

class SmtpServer:
    """A loopback SMTP server that can be stopped and started again on the same port."""

    def __init__(self, port: int, smtputf8: bool = False, handler: Recorder | None = None) -> None:
        self.port, self.recorder = port, handler or Recorder()
        self.controller: Controller | None = None
        self.smtputf8 = smtputf8

    def start(self) -> None:
        # the greeting's name given: aiosmtpd would otherwise look its own name up (getfqdn,
        # a DNS query blocking the server) on every new connection
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", enable_SMTPUTF8=self.smtputf8)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body (or "hang")


class HttpPeer:
    """A threaded HTTP server on loopback; `script(path, headers, body) -> Answer` answers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.script: Callable[[str, dict[str, str], bytes], Answer] = lambda *_: (200, {}, {})
        self.release = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                peer.requests.append((self.path, headers, body))
                status, extra, answer = peer.script(self.path, headers, body)
                if answer == "hang":
                    peer.release.wait(10)
                    return
                data = json.dumps(answer).encode()
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(body) for p, _, body in self.requests if p.startswith(path) and body[:1] == b"{"]


@pytest.fixture
def http_peer() -> Iterator[HttpPeer]:
    peer = HttpPeer()
    peer.thread.start()
    yield peer
    peer.release.set()
    peer.server.shutdown()
    peer.server.server_close()

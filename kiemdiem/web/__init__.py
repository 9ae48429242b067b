"""The Ban Tổ chức monitor: a read-only web application over the campaign's progress.

`create_app` builds the ASGI application; `run_web` and `WebServer` serve it (see server.py).
"""

from __future__ import annotations

from kiemdiem.web.server import WebServer, create_app, run_web

__all__ = ["WebServer", "create_app", "run_web"]

"""The progress spreadsheet on the monitor: `/progress`, the CLI's `progress import` for an
officer, limited to their subtree.

The web refuses what a browser could send by mistake or malice before any row is read: a
body over 10 MB, a file that is not `.csv`/`.xlsx`, more than 20,000 rows (an office with
more uses the CLI, which has no limit). Everything else is the import's own rules.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from kiemdiem.reports import progress_lines
from kiemdiem.web.auth import csrf_ok
from kiemdiem.web.render import kiemdiem_app, page
from kiemdiem.wording import WEB, on_page, problems_on_page
from workflow.errors import KiemdiemError
from workflow.progress import ALIASES, ProgressImport, ProgressReport
from workflow.tabular import read_rows

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
SUFFIXES = (".csv", ".xlsx")
TOO_BIG = "Tệp lớn hơn 10 MB; hãy chia nhỏ tệp hoặc nhờ văn phòng nhập bằng dòng lệnh."


def progress_form(request: Request) -> Response:
    return _page(request)


def _page(request: Request, *, lines: list[str] | None = None, error: str | None = None,
          problems: list[str] | None = None, status: int = 200) -> Response:
    return page(request, "progress.html", {"active": "progress", "campaign": None, "lines": lines,
                                           "error": error, "problems": problems or [],
                                           "max_rows": _n(MAX_ROWS)}, status_code=status)


async def progress_upload(request: Request) -> Response:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES + 64 * 1024:  # the file and the form around it
        return _page(request, error=TOO_BIG, status=413)
    form = await request.form(max_files=1, max_fields=5)
    if not csrf_ok(request, form.get("csrf")):
        return _page(request, error="Phiên làm việc đã hết hạn; hãy tải lại trang và thử lại.",
                     status=403)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, error="Hãy chọn một tệp CSV hoặc XLSX.", status=400)
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in SUFFIXES:
        return _page(request, error=f"Tệp '{upload.filename}' không phải CSV hoặc XLSX.", status=400)
    data = await upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return _page(request, error=TOO_BIG, status=413)
    app, viewer = kiemdiem_app(request), request.state.viewer
    dry_run = form.get("dry_run") == "1"

    def run() -> ProgressReport:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"tien-do{suffix}"
            path.write_bytes(data)
            columns, rows = read_rows(path, aliases=ALIASES)
        if len(rows) > MAX_ROWS:
            raise _TooManyRows(len(rows))
        return ProgressImport(app.db, app.cycle_service()).run(
            columns, rows, actor=viewer.name, dry_run=dry_run, under=viewer.unit_path)

    try:
        report = await run_in_threadpool(run)
    except _TooManyRows as exc:
        return _page(request, error=f"Tệp có {_n(exc.rows)} dòng, quá {_n(MAX_ROWS)} dòng cho phép "
                     "trên trang này; hãy chia nhỏ tệp hoặc nhờ văn phòng nhập bằng dòng lệnh.",
                     status=400)
    except KiemdiemError as exc:
        return _page(request, error=on_page(exc), problems=problems_on_page(exc), status=400)
    return _page(request, lines=progress_lines(report, "vi", WEB))


def _n(count: int) -> str:
    """A count the Vietnamese way: 20.000."""
    return f"{count:,}".replace(",", ".")


class _TooManyRows(Exception):
    def __init__(self, rows: int) -> None:
        super().__init__(rows)
        self.rows = rows

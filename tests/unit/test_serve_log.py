"""`serve`'s structured log and its outage lines, as an operator's log collector reads them."""

from __future__ import annotations

import io
import json
import threading
import time

from kiemdiem.serve import Outage, log_event


class SlowStdout(io.StringIO):
    """A stdout that yields to other threads inside every write, as a busy pipe does."""

    def write(self, text: str) -> int:
        time.sleep(0.001)
        return super().write(text)


def test_lines_logged_from_several_threads_at_once_stay_one_json_object_each(monkeypatch):
    out = SlowStdout()
    monkeypatch.setattr("sys.stdout", out)

    def chatter(n: int) -> None:
        for i in range(30):
            log_event("sweep", thread=n, i=i)

    threads = [threading.Thread(target=chatter, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted((r["thread"], r["i"]) for r in records) == [(n, i) for n in range(4) for i in range(30)]


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(capsys):
    outage = Outage("dispatch")
    outage.report(None)
    for _ in range(5):  # a dispatcher polling a database that is down
        outage.report(ConnectionError("connection refused\n[SQL: SELECT …]"))
    outage.report(None)
    outage.report(None)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in records] == ["database_unreachable", "database_reconnected"]
    assert records[0]["during"] == "dispatch"
    assert records[0]["error"] == "ConnectionError: connection refused"  # not the statement
    assert records[1]["after_s"] >= 0


def test_an_error_that_is_not_an_outage_keeps_its_traceback_and_starts_no_outage(capsys, caplog):
    outage = Outage("dispatch")
    try:
        {}["payload"]
    except KeyError as exc:
        outage.report(exc)
    outage.report(None)
    assert capsys.readouterr().out == ""  # neither unreachable nor reconnected
    assert caplog.records[0].getMessage() == "dispatch failed"
    assert caplog.records[0].exc_info[0] is KeyError

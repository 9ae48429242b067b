"""`serve`'s structured log and its outage lines, as an operator's log collector reads them."""

from __future__ import annotations

import io
import json
import logging
import threading
import time

from kiemdiem.jsonlog import log_event
from kiemdiem.serve import Outage


class SlowStdout(io.StringIO):
    """A stdout that yields to other threads inside every write, as a busy pipe does."""

    def write(self, text: str) -> int:
        time.sleep(0.001)
        return super().write(text)


def test_lines_logged_from_several_threads_at_once_stay_one_json_object_each(monkeypatch, json_log):
    out = SlowStdout()
    monkeypatch.setattr("sys.stdout", out)

    def chatter(n: int) -> None:
        for i in range(30):
            log_event("sweep", thread=n, i=i)
            logging.getLogger("apscheduler.scheduler").info("job %d.%d ran", n, i)

    threads = [threading.Thread(target=chatter, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    events = [r for r in records if r["event"] == "sweep"]
    assert sorted((r["thread"], r["i"]) for r in events) == [(n, i) for n in range(4) for i in range(30)]
    assert len(records) == 240


def test_an_event_and_a_library_record_share_one_format(capsys, json_log):
    log_event("sweep", scanned=3, level=logging.INFO)
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    event, record = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert event["event"] == "sweep" and event["scanned"] == 3
    assert record["event"] == "log" and record["message"] == "Invalid HTTP request received."
    for line in (event, record):
        assert {"ts", "level", "logger", "event"} <= line.keys()
    assert (event["level"], record["level"]) == ("info", "warning")
    assert record["logger"] == "uvicorn.error"


def test_a_state_change_is_not_narrated_in_the_log(capsys, json_log):
    logging.getLogger("transitions.core").info("Finished processing state plan_issued exit callbacks.")
    logging.getLogger("transitions.core").warning("Model has no trigger named 'x'")
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["level"] == "warning"


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(capsys, json_log):
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


def test_an_error_that_is_not_an_outage_is_one_line_with_its_traceback_and_starts_no_outage(capsys, json_log):
    outage = Outage("dispatch")
    try:
        {}["payload"]
    except KeyError as exc:
        outage.report(exc)
    outage.report(None)
    (line,) = capsys.readouterr().out.splitlines()  # neither unreachable nor reconnected
    record = json.loads(line)
    assert record["event"] == "dispatch_failed" and record["level"] == "error"
    assert record["error"] == "KeyError: 'payload'"
    assert record["traceback"].startswith("Traceback") and "{}[\"payload\"]" in record["traceback"]

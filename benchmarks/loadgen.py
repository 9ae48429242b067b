"""Drive a web server on loopback with prepared requests: `wrk` (C) when installed, else httpx.

The web benchmarks measure a server on the same two cores as their load generator. An
asyncio httpx client spends more CPU per request (~8 ms) than the server's views (~4 ms),
so under 50 or 200 concurrent clients it takes the cores the server needs and the figures
measure the client. `wrk` (Debian's `wrk` package, C, epoll) spends a few microseconds per
request; `drive` uses it when it is on the PATH, with a Lua script that sends a prepared
list of requests once each, records every answer's status and the application's
`Server-Timing`, and stops when the last answer is in. Without it the same requests go out
from httpx clients in this process. Either way the caller gets a `Phase`; `GENERATOR` names
the one used, for the report.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

WRK = shutil.which("wrk")
GENERATOR = "wrk (C, one thread, epoll)" if WRK else "httpx (asyncio, in the benchmark's process)"

#: sends the prepared requests of the file given as its first argument once each (an idle
#: connection once they are all out), counts the answers and writes them to the second
#: argument as JSON when the last is in (the caller then interrupts wrk); `done` adds wrk's
#: own run time and latency percentiles
_SCRIPT = r"""
local prepared, total, sent, got = {}, 0, 0, 0
local server, statuses = {}, {}
local threads, verified = {}, false

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  out = args[2]
  for line in io.lines(args[1]) do
    local method, path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if cookie ~= "" then headers["Cookie"] = cookie end
    if body == "" then body = nil else headers["Content-Type"] = "application/x-www-form-urlencoded" end
    total = total + 1
    prepared[total] = wrk.format(method, path, headers, body)
  end
end

function request()
  if not verified then  -- wrk's own first call, which checks the request and sends nothing
    verified = true
    return prepared[1]
  end
  sent = sent + 1
  if sent <= total then return prepared[sent] end
  return ""  -- nothing left to send: the connection waits until the thread stops
end

function response(status, headers, body)
  got = got + 1
  local timing = headers["server-timing"] or headers["Server-Timing"] or ""
  server[got] = tonumber(timing:match("dur=([%d%.]+)")) or -1
  statuses[status] = (statuses[status] or 0) + 1
  if got == total then
    local f = io.open(out .. ".part", "w")
    local parts = {}
    for s, n in pairs(statuses) do parts[#parts + 1] = '"' .. s .. '":' .. n end
    f:write('{"server_ms":[' .. table.concat(server, ",") .. '],"statuses":{'
            .. table.concat(parts, ",") .. '}}\n')
    f:close()
    os.rename(out .. ".part", out)
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local f = io.open(threads[1]:get("out") .. ".summary", "w")
  f:write(string.format('{"duration_us":%d,"p95_us":%d,"p99_us":%d,"p50_us":%d,"max_us":%d}\n',
    summary.duration, latency:percentile(95), latency:percentile(99), latency:percentile(50),
    latency.max))
  f:close()
end
"""


#: with a rate: each connection pauses a random (exponential) think time between an answer
#: and its next request, so `clients` connections together offer about that many requests/s
_THINK = r"""
local think_ms = tonumber(THINK_MS)
function delay()
  return math.floor(-think_ms * math.log(1 - math.random()))
end
"""


@dataclass(frozen=True)
class Prepared:
    """One request to send: method, path, the Cookie header ("" for none), a form body ("")."""

    method: str
    path: str
    cookie: str = ""
    body: str = ""


@dataclass
class Phase:
    """What one batch of requests measured."""

    server_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: wrk reports percentiles of its own latency histogram (ms by share: 0.5, 0.95, 0.99,
    #: 1.0) instead of every latency
    client_shares: dict[float, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.server_ms) / self.seconds

    @staticmethod
    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1]

    def client_percentile(self, share: float) -> float:
        """The client latency (ms) below which `share` of the answers came (1.0: the slowest)."""
        if self.client_shares:
            return self.client_shares[share]
        ordered = sorted(self.client_ms)
        return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def drive(base: str, clients: int, work: list[Prepared], rate: float | None = None) -> Phase:
    """Send `work` (each once) over `clients` concurrent connections to `base`; every answer
    counts, none is followed (a redirect is an answer). Each connection sends its next
    request as soon as its last is answered, or, with `rate`, after a random pause that makes
    the connections together offer about `rate` requests/s."""
    think = clients / rate if rate else 0.0
    if WRK:
        return _wrk(base, clients, work, think)
    return asyncio.run(_httpx(base, clients, work, think))


def _wrk(base: str, clients: int, work: list[Prepared], think: float) -> Phase:
    assert WRK is not None, "drive() calls this only when wrk is installed"
    with tempfile.TemporaryDirectory(prefix="kiemdiem-wrk-") as folder:
        script, lines, out = Path(folder, "drive.lua"), Path(folder, "requests.tsv"), Path(folder, "out.json")
        script.write_text(_SCRIPT + (_THINK.replace("THINK_MS", repr(think * 1000)) if think else ""))
        lines.write_text("".join(f"{w.method}\t{w.path}\t{w.cookie}\t{w.body}\n" for w in work))
        wrk = subprocess.Popen([WRK, "-t1", f"-c{min(clients, len(work))}", "-d3600s", "--timeout", "120s",
                                "-s", str(script), base, "--", str(lines), str(out)],
                               stdout=subprocess.DEVNULL)
        # wrk runs for its whole -d unless interrupted: stop it once the last answer is in
        while not out.exists():
            if wrk.poll() is not None:
                raise RuntimeError(f"wrk stopped before the last answer (exit {wrk.returncode})")
            time.sleep(0.005)
        wrk.send_signal(signal.SIGINT)
        if wrk.wait(timeout=60) != 0:
            raise RuntimeError(f"wrk failed (exit {wrk.returncode})")
        answers = json.loads(out.read_text())
        summary = json.loads(Path(f"{out}.summary").read_text())
    return Phase(server_ms=answers["server_ms"],
                 statuses={int(s): n for s, n in answers["statuses"].items()},
                 seconds=summary["duration_us"] / 1e6,
                 client_shares={0.5: summary["p50_us"] / 1000, 0.95: summary["p95_us"] / 1000,
                                0.99: summary["p99_us"] / 1000, 1.0: summary["max_us"] / 1000})


async def _httpx(base: str, clients: int, work: list[Prepared], think: float) -> Phase:
    phase = Phase()
    queue: asyncio.Queue[Prepared] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)

    async def one(client: httpx.AsyncClient, item: Prepared) -> None:
        headers = {"Cookie": item.cookie} if item.cookie else {}
        if item.body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        response = await client.request(item.method, item.path, headers=headers,
                                        content=item.body or None)
        phase.client_ms.append((time.perf_counter() - started) * 1000)
        phase.statuses[response.status_code] = phase.statuses.get(response.status_code, 0) + 1
        timing = response.headers.get("server-timing", "app;dur=-1").split("dur=")[1]
        phase.server_ms.append(float(timing))

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            while not queue.empty():
                if think:
                    await asyncio.sleep(random.expovariate(1 / think))
                await one(client, queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    phase.seconds = time.perf_counter() - started
    return phase

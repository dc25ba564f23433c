"""`python -m bench --only peers [--quick]`: Queuarr side by side with pyLoad (issue 18).

One run on this machine: both servers pinned to CPU 0, the load generator (wrk) and this
process on CPU 1, each queue seeded with the same number of queued items and paused, so
that both do queue work only. Rows, ratios Queuarr ÷ pyLoad, and who leads: see
bench/README.md ("Peers"). The pyLoad side lives in bench/peer_pyload.py."""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench import seed
from bench.load import LoadGenerator, Result
from bench.peer_pyload import ADDRESSES, LIMIT_PER_MINUTE, PyLoad, ensure_venv, version, wait_quiet
from bench.processor import claim_rows
from bench.procs import (
    Noise,
    Server,
    can_pin,
    compiled,
    cpu_model,
    free_port,
    package_version,
    server_env,
)
from bench.report import _num, _table, narrator, publish, write_section

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "bench" / "results" / "peers"
API_KEY = "queuarr-bench-key-0123456789"
QUEUE = "/api/v3/queue"
SECTION_START, SECTION_END = "<!-- bench.peers: start -->", "<!-- bench.peers: end -->"

# One script for every run: GETs, or POSTs of a unique link (Queuarr's grab of a magnet,
# pyLoad's add_package of an http link on the link server); optionally an X-Forwarded-For
# address per request; answers counted by status. Arguments: prefix, mode, xff start (-1:
# none), link base URL.
_LUA = r"""
local counter = 0
local prefix, mode, xff, base = "", "get", -1, ""
statuses = {}  -- global: done() reads it with thread:get
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  prefix, mode, xff, base = args[1], args[2], tonumber(args[3]), args[4] or ""
  if mode ~= "get" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
end
function request()
  counter = counter + 1
  if xff >= 0 then
    local n = (xff + counter) % ADDRESSES
    wrk.headers["X-Forwarded-For"] = string.format("10.0.%d.%d", math.floor(n / 256), n % 256)
  end
  local body = nil
  if mode ~= "get" then
    local name = string.format("Peers.Bench.%s%016x.2160p.WEB-DL.x265-BENCH", prefix, counter)
    if mode == "queuarr" then
      body = string.format('{"title":"%s","downloadUrl":"magnet:?xt=urn:btih:%s%016x&dn=%s"}',
                           name, prefix, counter, name)
    else
      body = string.format('{"name":"%s","links":["%s/p/%s.mkv"]}', name, base, name)
    end
  end
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end
report_statuses = function()
  local parts = {}
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do table.insert(parts, string.format('"%s":%d', k, v)) end
  io.write("BENCHSTATUS {" .. table.concat(parts, ",") .. "}\n")
end
""".replace("ADDRESSES", str(ADDRESSES))


@dataclass
class Config:
    items: int
    repeats: int
    duration: float
    idle_seconds: float
    add_conns: int
    status_conns: int
    out: Path
    keep: bool
    quick: bool


def parse_args(argv: list[str] | None) -> Config:
    p = argparse.ArgumentParser(prog="python -m bench --only peers",
                                description="Queuarr side by side with pyLoad (issue 18).")
    p.add_argument("--quick", action="store_true",
                   help="1 repeat, 2 s load runs, a 20 s idle window (about 2 minutes)")
    p.add_argument("--items", type=int, default=10_000, help="items in each queue")
    p.add_argument("--repeats", type=int, default=None, help="default 3 (--quick 1)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds per load run (default 4; --quick 2)")
    p.add_argument("--idle-seconds", type=float, default=None,
                   help="idle CPU window (default 60; --quick 20)")
    p.add_argument("--add-connections", type=int, default=4)
    p.add_argument("--status-connections", type=int, default=16)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--keep", action="store_true", help="keep the servers' data dirs")
    a = p.parse_args(argv)
    cfg = Config(items=a.items, repeats=a.repeats or (1 if a.quick else 3),
                 duration=a.duration or (2.0 if a.quick else 4.0),
                 idle_seconds=a.idle_seconds or (20.0 if a.quick else 60.0),
                 add_conns=a.add_connections, status_conns=a.status_connections,
                 out=a.out, keep=a.keep, quick=a.quick)
    if not (0 < cfg.items <= 100_000 and 1 <= cfg.repeats <= 9 and 0 < cfg.duration <= 60
            and 0 < cfg.idle_seconds <= 600):
        p.error("need 0 < items <= 100000, 1 <= repeats <= 9, 0 < duration <= 60 s, "
                "0 < idle seconds <= 600")
    return cfg


class LinkServer:
    """The host every queued link points at (loopback): HEAD answers a 1 GiB file, GET a
    503 and is counted, so that a download either side starts shows in the report."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        hits, lock = self.hits, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _count(self) -> None:
                with lock:
                    key = f"{self.command} {self.path[:3]}"
                    hits[key] = hits.get(key, 0) + 1

            def do_HEAD(self) -> None:
                self._count()
                self.send_response(200)
                self.send_header("Content-Length", str(2**30))
                self.end_headers()

            def do_GET(self) -> None:
                self._count()
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Side:
    """One server as the bench drives it."""

    name: str
    server: Server
    ready: str  # the cheap endpoint start-up is timed to
    whole: str  # the whole queue in one GET
    status: str  # status counts
    add: str
    mode: str  # the load script's mode for adds
    headers: Callable[[], dict[str, str]]
    count: Callable[[], int]  # items in the queue now
    listed: Callable[[bytes], int]  # items in a whole-queue answer
    after_start: Callable[[], None] = lambda: None
    figures: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _timer() -> Iterator[list[float]]:
    box: list[float] = []
    t0 = time.perf_counter()
    yield box
    box.append(time.perf_counter() - t0)


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


class Peers:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.say = narrator("peers")
        self.pin = can_pin()
        if self.pin:
            os.sched_setaffinity(0, {1})  # this process (link server, clients) off CPU 0
        self.load = LoadGenerator(1 if self.pin else None)
        if not self.load.wrk:
            raise SystemExit("bench peers needs wrk (apt-get install -y wrk)")
        self.links = LinkServer()
        self.work = HOME / f"run-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
        self.logs = cfg.out / "logs"
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.noise: dict[str, float] = {}  # phase: CPU other processes took, % of a core

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return server_env(extra)

    # -- Queuarr --------------------------------------------------------------------------

    def queuarr(self) -> Side:
        data = self.work / "queuarr"
        data.mkdir(parents=True, exist_ok=True)
        self.say(f"Queuarr: seeding {self.cfg.items:,} queued items into SQLite "
                 "(bench/seed.py rows, all queued)")
        info = seed.seed_sqlite(data / "queuarr.db", claim_rows(self.cfg.items))
        compiled(ROOT)  # pyLoad's venv has its bytecode from pip
        exe = Path(sys.executable).parent / "queuarr"
        argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "api.cli"]
        argv += ["serve", "--host", "127.0.0.1"]
        port = free_port()
        env = self.env({"QUEUARR_DATABASE_URL": info["url"], "QUEUARR_API_KEY": API_KEY,
                        "QUEUARR_DATA_DIR": str(data), "QUEUARR_MANAGED_ARIA2": "false",
                        "PYTHONPATH": str(ROOT)})
        server = Server("queuarr", [*argv, "--port", str(port)], port, env=env, cwd=data,
                        log=self.logs / "peers-queuarr.log", cpu=0 if self.pin else None)
        headers = {"X-Api-Key": API_KEY}

        def count() -> int:
            r = httpx.get(f"{server.base}{QUEUE}?pageSize=1&includeUnknownMovieItems=true",
                          headers=headers, timeout=30)
            r.raise_for_status()
            return int(r.json()["totalRecords"])

        def listed(body: bytes) -> int:
            import orjson

            return len(orjson.loads(body)["records"])

        side = Side("Queuarr", server, "/ping",
                    f"{QUEUE}?page=1&pageSize=100000&includeUnknownMovieItems=true",
                    f"{QUEUE}/status", f"{QUEUE}/grab", "queuarr", lambda: dict(headers),
                    count, listed)
        server.start("/ping")
        try:
            httpx.put(f"{server.base}{QUEUE}/pause", headers=headers,
                      timeout=30).raise_for_status()
            paused = httpx.get(f"{server.base}{QUEUE}/pause", headers=headers, timeout=30)
            if not paused.json().get("paused") or count() != self.cfg.items:
                raise RuntimeError(f"Queuarr: not paused or not {self.cfg.items} items")
        finally:
            server.stop()
        return side

    # -- pyLoad ---------------------------------------------------------------------------

    def pyload(self, venv: Path) -> Side:
        pl = PyLoad(ensure_venv(venv, self.say), self.work / "pyload", free_port())
        env = self.env()
        pl.configure(env)
        server = pl.server(self.logs / "peers-pyload.log", 0 if self.pin else None, env)

        def listed(body: bytes) -> int:
            import orjson

            return sum(len(p["links"]) for p in orjson.loads(body))

        side = Side("pyLoad", server, "/api/get_server_version", "/api/get_queue_data",
                    "/api/status_server", "/api/add_package", "pyload", pl.headers,
                    lambda: int(pl.status()["total"]), listed, pl.pause)
        self.pl = pl
        server.start("/login")
        try:
            pl.make_key()
            pl.pause()
            self.say(f"pyLoad: adding {self.cfg.items:,} links through its API "
                     "(add_package, 100 links each)")
            titles = [new.title for new in seed.new_items(0, self.cfg.items)]
            pl.seed([f"{self.links.base}/p/{quote(t)}.mkv" for t in titles])
            wait_quiet(server)
            status = pl.status()
            if status["total"] != self.cfg.items or status["queue"] != self.cfg.items:
                raise RuntimeError(f"pyLoad: {status}, expected {self.cfg.items} links")
        finally:
            server.stop()
        return side

    # -- the measures ---------------------------------------------------------------------

    def startups(self, sides: list[Side]) -> None:
        """Spawn to the first 200 of `ready`, interleaved; the last start stays up."""
        for i in range(self.cfg.repeats):
            for side in sides:
                with Noise() as noise, _timer() as took:  # the timer inside: Noise scans
                    side.server.start(side.ready, headers=side.headers(), interval=0.005)
                self.noise["start-up"] = max(self.noise.get("start-up", 0.0), noise.percent)
                side.figures.setdefault("startup_s", []).append(took[0])
                side.after_start()
                if i < self.cfg.repeats - 1:
                    side.server.stop()
        for side in sides:
            self.say(f"  {side.name:8} start-up to first answer: "
                     + ", ".join(f"{s:.2f} s" for s in side.figures["startup_s"]))

    def idle(self, sides: list[Side]) -> None:
        for side in sides:
            wait_quiet(side.server, 30)
        hits0 = dict(self.links.hits)
        cpu0 = {s.name: _run_ns(s.server) for s in sides}
        t0 = time.monotonic()
        with Noise() as noise:
            time.sleep(self.cfg.idle_seconds)
        elapsed = time.monotonic() - t0
        self.noise["idle"] = noise.percent
        for side in sides:
            side.figures["idle_cpu_pct"] = (100 * (_run_ns(side.server) - cpu0[side.name])
                                            / 1e9 / elapsed)
            side.figures["idle_rss_mib"] = side.server.rss() / 2**20
            self.say(f"  {side.name:8} idle {elapsed:.0f} s: CPU "
                     f"{side.figures['idle_cpu_pct']:.3f} % of a core, RSS "
                     f"{side.figures['idle_rss_mib']:.1f} MiB")
        if self.links.hits != hits0:
            self.problems.append(f"links were fetched while idle: {self.links.hits}")

    def whole_queue(self, side: Side) -> None:
        url = side.server.base + side.whole
        plain, gz = [], []
        for _ in range(self.cfg.repeats):
            with Noise() as noise, _timer() as took:
                r = httpx.get(url, headers={**side.headers(), "Accept-Encoding": "identity"},
                              timeout=120)
            plain.append(took[0])
            self.noise["whole queue"] = max(self.noise.get("whole queue", 0.0), noise.percent)
            r.raise_for_status()
            n = side.listed(r.content)
            if n != self.cfg.items:
                self.problems.append(f"{side.name}: the whole queue listed {n} items")
            wire = 0
            with _timer() as took, httpx.Client(timeout=120) as client, client.stream(
                    "GET", url, headers={**side.headers(), "Accept-Encoding": "gzip"}) as s:
                s.raise_for_status()
                encoding = s.headers.get("content-encoding", "identity")
                for chunk in s.iter_raw():
                    wire += len(chunk)
            gz.append(took[0])
        side.figures.update(whole_ms=1000 * _median(plain), whole_gzip_ms=1000 * _median(gz),
                            whole_bytes_plain=len(r.content), whole_bytes_gzip=wire,
                            whole_encoding=encoding)
        self.say(f"  {side.name:8} whole queue: {side.figures['whole_ms']:.0f} ms "
                 f"({len(r.content):,} bytes); with gzip accepted {wire:,} bytes on the wire "
                 f"({encoding}), {side.figures['whole_gzip_ms']:.0f} ms")

    def run_load(self, side: Side, path: str, conns: int, mode: str, label: str) -> Result:
        """`repeats` runs; the median rps/p99 (statuses summed over the runs)."""
        script = self.load.script("peers", _LUA)
        headers = {k: v for k, v in side.headers().items() if k != "X-Forwarded-For"}
        runs = []
        for _ in range(self.cfg.repeats):
            xff = secrets.randbelow(ADDRESSES) if side.name == "pyLoad" else -1
            runs.append(self.load.run(side.server.base + path, conns, self.cfg.duration,
                                      headers=headers, script=script,
                                      args=[mode, str(xff), self.links.base]))
        statuses: dict[str, int] = {}
        for r in runs:
            for k, v in r.statuses.items():
                statuses[k] = statuses.get(k, 0) + v
        mid = Result(rps=_median([r.rps for r in runs]), p50_ms=_median([r.p50_ms for r in runs]),
                     p90_ms=_median([r.p90_ms for r in runs]),
                     p99_ms=_median([r.p99_ms for r in runs]), max_ms=max(r.max_ms for r in runs),
                     requests=sum(r.requests for r in runs), errors=sum(r.errors for r in runs),
                     seconds=sum(r.seconds for r in runs), bytes=sum(r.bytes for r in runs),
                     noise_pct=max(r.noise_pct for r in runs), statuses=statuses)
        self.noise[label] = max(self.noise.get(label, 0.0), mid.noise_pct)
        if mid.errors:
            self.problems.append(f"{side.name} {path}: {mid.errors} failed requests "
                                 f"(answers by status: {statuses})")
        return mid

    def status_rate(self, side: Side) -> None:
        r = self.run_load(side, side.status, self.cfg.status_conns, "get", "status counts")
        side.figures.update(status_rps=r.rps, status_p99_ms=r.p99_ms,
                            status_statuses=r.statuses, status_noise_pct=r.noise_pct)
        self.say(f"  {side.name:8} status counts: {r.rps:,.0f} req/s at c="
                 f"{self.cfg.status_conns}, p99 {r.p99_ms:.1f} ms; answers {r.statuses}")

    def adds(self, side: Side) -> None:
        before, cpu0 = side.count(), side.server.cpu_seconds()
        r = self.run_load(side, side.add, self.cfg.add_conns, side.mode, "adds")
        settle = wait_quiet(side.server, 60)  # work the adds left behind counts too
        cpu = side.server.cpu_seconds() - cpu0
        added = side.count() - before
        ok = sum(v for k, v in r.statuses.items() if k.startswith("2"))
        slack = self.cfg.add_conns * self.cfg.repeats
        if not ok <= added <= ok + slack:
            self.problems.append(f"{side.name}: {added} items added for {ok} 2xx answers")
        side.figures.update(adds_per_s=r.rps, add_p50_ms=r.p50_ms, add_p99_ms=r.p99_ms,
                            add_cpu_ms=1000 * cpu / max(added, 1), adds=added, add_answers=ok,
                            add_statuses=r.statuses, add_settle_s=settle,
                            add_noise_pct=r.noise_pct)
        self.say(f"  {side.name:8} adds: {r.rps:,.1f}/s at c={self.cfg.add_conns}, p99 "
                 f"{r.p99_ms:.1f} ms, server CPU {side.figures['add_cpu_ms']:.2f} ms per add "
                 f"({added} added, {ok} answered 2xx, quiet {settle:.1f} s later); answers "
                 f"{r.statuses}")

    # -- the run --------------------------------------------------------------------------

    def run(self, venv: Path) -> dict[str, Any]:
        cfg = self.cfg
        started = time.monotonic()
        self.say(f"peers: {cfg.items:,} items each, {cfg.repeats} repeat(s), {cfg.duration:g} "
                 f"s load runs, {cfg.idle_seconds:g} s idle window; pinning "
                 f"{'servers on CPU 0, wrk and this process on CPU 1' if self.pin else 'off'}")
        sides: list[Side] = []
        try:
            sides = [self.queuarr(), self.pyload(venv)]
            self.say("start-up (spawn to the first 200), then both idle")
            self.startups(sides)
            self.idle(sides)
            for side in sides:
                self.say(f"{side.name}: the whole queue, status counts, adds")
                self.whole_queue(side)
                self.status_rate(side)
                self.adds(side)
            limiter = self.pl.limiter_check()
        finally:
            for side in sides:
                side.server.stop()
            self.links.close()
            self.load.close()
            if not cfg.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        if self.links.hits.get("GET /q/") or self.links.hits.get("GET /p/"):
            self.problems.append(f"a link was downloaded: {self.links.hits}")
        wrk = subprocess.run([str(self.load.wrk), "-v"], capture_output=True, text=True,
                             check=False)
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{cpu_model()}, {os.cpu_count()} CPUs",
            "queuarr": f"Queuarr {package_version('queuarr')} "
                       f"({_git_head()}, Python {platform.python_version()}, SQLite)",
            "pyload": version(venv), "wrk": (wrk.stdout or wrk.stderr).split("\n")[0].strip(),
            "config": {k: str(v) for k, v in vars(cfg).items()},
            "pinned": self.pin, "limiter_check": limiter, "link_hits": self.links.hits,
            "sides": {s.name: s.figures for s in sides}, "notes": self.notes,
            "problems": self.problems, "elapsed_s": time.monotonic() - started,
            "noise_pct": self.noise,
        }


def _run_ns(server: Server) -> int:
    """CPU time of the server's threads so far, in ns (/proc/<pid>/task/*/schedstat: the
    10 ms ticks of cpu_times are too coarse for an idle minute)."""
    total = 0
    for proc in server.processes():
        for task in Path(f"/proc/{proc.pid}/task").glob("*"):
            with suppress(OSError, ValueError, IndexError):
                total += int((task / "schedstat").read_text().split()[0])
    return total


def _git_head() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


# measure, key, unit, better ("higher"/"lower"), digits
ROWS: tuple[tuple[str, str, str, str, int], ...] = (
    ("adds/s, {add_conns} concurrent", "adds_per_s", "/s", "higher", 0),
    ("add p99", "add_p99_ms", "ms", "lower", 1),
    ("server CPU per add", "add_cpu_ms", "ms", "lower", 2),
    ("whole queue ({items:,} items) in one GET", "whole_ms", "ms", "lower", 0),
    ("the same, gzip accepted", "whole_gzip_ms", "ms", "lower", 0),
    ("status counts req/s, {status_conns} concurrent", "status_rps", "/s", "higher", 0),
    ("idle CPU, % of a core", "idle_cpu_pct", "%", "lower", 3),
    ("idle RSS", "idle_rss_mib", "MiB", "lower", 1),
    ("start-up to first answer", "startup_s", "s", "lower", 2),
    ("bytes for the whole queue, client accepts gzip", "whole_bytes_gzip", "B", "lower", 0),
)


def _value(figures: dict[str, Any], key: str) -> float:
    v = figures[key]
    return _median(v) if isinstance(v, list) else float(v)


def _show(value: float, unit: str, digits: int) -> str:
    if unit == "B":
        return f"{value:,.0f}"
    text = f"{value:,.{digits}f}" if value >= 1000 else f"{value:.{digits}f}"
    return f"{text} {unit}" if unit not in ("/s",) else text


def render(results: dict[str, Any]) -> str:
    cfg = results["config"]
    q, p = results["sides"]["Queuarr"], results["sides"]["pyLoad"]
    rows = []
    for label, key, unit, better, digits in ROWS:
        a, b = _value(q, key), _value(p, key)
        r = a / b if b else (float("inf") if a else 1.0)
        leads = "tie" if abs(r - 1) < 0.02 else (
            "Queuarr" if (r > 1) == (better == "higher") else "pyLoad")
        rows.append([label.format(add_conns=cfg["add_conns"], status_conns=cfg["status_conns"],
                                  items=int(cfg["items"])),
                     _show(a, unit, digits), _show(b, unit, digits),
                     "∞" if r == float("inf") else _num(r), better, leads])
    enc = f"Queuarr sent {q['whole_encoding']}, pyLoad {p['whole_encoding']}"
    limiter = results["limiter_check"]
    notes = [
        f"Versions: {results['queuarr']}; {results['pyload']}; {results['wrk']}. "
        f"Machine: {results['machine']}.",
        f"Both servers pinned to CPU 0, wrk and the bench on CPU 1 (taskset): "
        f"{'yes' if results['pinned'] else 'NO (taskset or CPUs 0-1 unavailable)'}. Each "
        f"figure is the median of {cfg['repeats']} (load runs of {cfg['duration']} s).",
        "Queues: Queuarr on SQLite (its default), `queuarr serve` with its default "
        "settings (migration check on start, log level INFO) but no download client "
        "(QUEUARR_MANAGED_ARIA2=false) and dispatching paused (PUT /api/v3/queue/pause), "
        f"{int(cfg['items']):,} items from bench/seed.py, all queued; pyLoad with its "
        f"defaults but debug mode off (shipped on, at trace level), {int(cfg['items']):,} "
        "links added through its API (add_package, 100 a package; pyLoad checks nothing "
        "for plain http links), queue paused (pause_server after every start) and a "
        "download window 12 h away (pyLoad unpauses itself at start). Links point at a "
        f"loopback server that refuses downloads; it saw {results['link_hits'] or 'nothing'}.",
        "Endpoints: adds are Queuarr's POST /api/v3/queue/grab {title, downloadUrl: a "
        "unique magnet} and pyLoad's POST /api/add_package {name, links: [a unique http "
        "link]}: neither fetches anything (Queuarr probes a plain http link with yt-dlp at "
        "grab time, a fetch pyLoad's DefaultPlugin does not make; pyLoad has no plugin for "
        "magnets); "
        "whole queue: GET /api/v3/queue?pageSize=100000&includeUnknownMovieItems=true and "
        "GET /api/get_queue_data (sent with Accept-Encoding: identity; the gzip row and the "
        f"bytes count the raw body on the wire, {enc}); status counts: GET "
        "/api/v3/queue/status and GET /api/status_server; start-up: spawn to the first 200 "
        "of GET /ping (Queuarr) and GET /api/get_server_version (pyLoad), polled every 5 ms, "
        "on the seeded data; idle: both servers up together, settled, over "
        f"{cfg['idle_seconds']} s, RSS (process and children) at the end; CPU per add: the "
        "server's CPU time from the first add run until it is quiet again, ÷ items added.",
        f"pyLoad's API rate limit ({LIMIT_PER_MINUTE} requests/min per client address, "
        "hard-coded `@rate_limit(count=100, period=60)` in "
        "pyload/webui/app/blueprints/api_blueprint.py, no setting): the limiter reads the "
        "address from X-Forwarded-For, so every request to pyLoad carried one of "
        f"{ADDRESSES:,} addresses in turn (no monkeypatch: the limiter still runs and its "
        "cost is in pyLoad's figures, it just never refuses). Checked at the end: "
        f"{LIMIT_PER_MINUTE + 1} calls from one plain client were answered {limiter}. "
        f"429 answers during the runs: status {p['status_statuses'].get('429', 0)}, adds "
        f"{p['add_statuses'].get('429', 0)} (never counted as successes).",
        f"Answers by status: Queuarr status {q['status_statuses']}, adds "
        f"{q['add_statuses']}; pyLoad status {p['status_statuses']}, adds "
        f"{p['add_statuses']}. Items added: Queuarr {q['adds']} ({q['add_answers']} "
        f"answered), pyLoad {p['adds']} ({p['add_answers']} answered).",
    ]
    notes.append("Other processes on the machine took, at most, % of a core: " + ", ".join(
        f"{k} {v:.0f}" for k, v in results["noise_pct"].items())
        + " (above ~10 the figures are noisy; run again on a quiet machine).")
    if results["problems"]:
        notes.append("PROBLEMS: " + "; ".join(results["problems"]))
    out = [SECTION_START, "## Peers: Queuarr and pyLoad side by side (issue 18)", "",
           f"{results['when']}, {results['elapsed_s']:.0f} s.", "",
           _table(["measure", "Queuarr", "pyLoad", "Queuarr ÷ pyLoad", "better is",
                   "leads"], rows),
           "", "### Notes", "", *(f"- {n}" for n in notes), SECTION_END]
    return "\n".join(out)


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "peers", SECTION_START, SECTION_END)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    results = Peers(cfg).run(HOME / "venv")
    publish(results, render(results), write, cfg.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
